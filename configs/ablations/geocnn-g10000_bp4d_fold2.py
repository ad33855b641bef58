# geocnn-g10000_bp4d on BP4D, fold 2.
_base_ = './geocnn-g10000_bp4d_fold1.py'
train_dataloader = dict(dataset=dict(fold=2))
val_dataloader = dict(dataset=dict(fold=2))
test_dataloader = dict(dataset=dict(fold=2))
