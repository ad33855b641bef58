# The FERA 2015 model (./geocnn-int_bp4d-fera15.py) with BP4D's 3-fold
# subject-exclusive protocol instead, fold 1 (trains on parts 1+2, tests on
# part 3); --fold 2|3 of tools/train.py and tools/test.py picks the others.
_base_ = './geocnn-int_bp4d-fera15.py'
_folds = dict(protocol=None, fold=1)
train_dataloader = dict(dataset=_folds)
val_dataloader = dict(dataset=_folds)
test_dataloader = val_dataloader
