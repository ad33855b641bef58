# GeoCNN with the joint occurrence + intensity head on DISFA, fold 3.
_base_ = './geocnn-int_disfa_fold1.py'
train_dataloader = dict(dataset=dict(fold=3))
val_dataloader = dict(dataset=dict(fold=3))
test_dataloader = dict(dataset=dict(fold=3))
