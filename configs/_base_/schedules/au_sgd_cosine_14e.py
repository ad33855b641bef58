# Sec. 4.1: SGD, momentum 0.9, weight decay 5e-4, Nesterov; lr 0.001 for the
# VGG-19 branch and 0.0005 for every other parameter; 14 epochs of cosine
# annealing.
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.0005, momentum=0.9, weight_decay=5e-4, nesterov=True
    ),
    # Every variant keeps the deep branch under `backbone.main_branch`
    # (GeoCNNBackbone), so one key gives it 2 x 0.0005 = 0.001.
    paramwise_cfg=dict(
        custom_keys={'backbone.main_branch': dict(lr_mult=2.0)}
    ),
)
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=14,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=14,
        convert_to_iter_based=True,
    ),
]
# The paper reports the final model of each fold (no checkpoint selection on
# the held-out fold), so validation runs once, at the end.
train_cfg = dict(by_epoch=True, max_epochs=14, val_interval=14)
val_cfg = dict()
test_cfg = dict()
# The paper does not give its batch size; lr is for this one.
auto_scale_lr = dict(base_batch_size=32)
