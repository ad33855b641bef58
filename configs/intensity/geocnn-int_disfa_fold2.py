# GeoCNN with the joint occurrence + intensity head on DISFA, fold 2.
_base_ = './geocnn-int_disfa_fold1.py'
train_dataloader = dict(dataset=dict(fold=2))
val_dataloader = dict(dataset=dict(fold=2))
test_dataloader = dict(dataset=dict(fold=2))
