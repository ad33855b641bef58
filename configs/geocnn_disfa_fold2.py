# GeoCNN on DISFA, fold 2.
_base_ = './geocnn_disfa_fold1.py'
train_dataloader = dict(dataset=dict(fold=2))
val_dataloader = dict(dataset=dict(fold=2))
test_dataloader = dict(dataset=dict(fold=2))
