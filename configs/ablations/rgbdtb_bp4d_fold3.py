# rgbdtb_bp4d on BP4D, fold 3.
_base_ = './rgbdtb_bp4d_fold1.py'
train_dataloader = dict(dataset=dict(fold=3))
val_dataloader = dict(dataset=dict(fold=3))
test_dataloader = dict(dataset=dict(fold=3))
