# Table 4 "VGG-19s": VGG-19 alone, trained from scratch (MMPretrain's VGG
# init).
_base_ = './vgg19_bp4d.py'
model = dict(
    backbone=dict(
        main_branch=dict(
            init_cfg=[
                dict(type='Kaiming', layer=['Conv2d']),
                dict(type='Constant', val=1.0, layer=['_BatchNorm']),
                dict(type='Normal', std=0.01, layer=['Linear']),
            ]
        )
    )
)
