# GeoConv in another MMPretrain backbone by conv_cfg alone: ResNet-50 (ImageNet
# initialised) with every convolution a GeoConv, single branch, GeoCNN's fusion
# layer and AU head. Not in the paper.
_base_ = '../geocnn_bp4d_fold1.py'
resnet50_imagenet = ('https://download.openmmlab.com/mmclassification/v0/resnet/'
                     'resnet50_8xb32_in1k_20210831-ea4938fc.pth')
model = dict(
    backbone=dict(
        main_branch=dict(
            _delete_=True,
            type='ResNet',
            depth=50,
            conv_cfg=dict(type='GeoConv'),
            init_cfg=dict(type='Pretrained', checkpoint=resnet50_imagenet,
                          prefix='backbone.')),
        aux_branch=None),
    neck=dict(in_channels=(2048, )))
# The GeoSpecs of ResNet-50's convolutions (stem 7x7/2, bottleneck 1x1 and 3x3,
# strided 3x3 and downsample 1x1/2), from geoconv_mm.ops.collect_geo_specs(model,
# (224, 224)); the key depends on strides only, not on the image size.
_specs = [
    'S1_k7x7_s2x2_p3x3_d1x1', 'S4_k1x1_s1x1_p0x0_d1x1', 'S4_k3x3_s1x1_p1x1_d1x1',
    'S4_k3x3_s2x2_p1x1_d1x1', 'S4_k1x1_s2x2_p0x0_d1x1', 'S8_k1x1_s1x1_p0x0_d1x1',
    'S8_k3x3_s1x1_p1x1_d1x1', 'S8_k3x3_s2x2_p1x1_d1x1', 'S8_k1x1_s2x2_p0x0_d1x1',
    'S16_k1x1_s1x1_p0x0_d1x1', 'S16_k3x3_s1x1_p1x1_d1x1', 'S16_k3x3_s2x2_p1x1_d1x1',
    'S16_k1x1_s2x2_p0x0_d1x1', 'S32_k1x1_s1x1_p0x0_d1x1', 'S32_k3x3_s1x1_p1x1_d1x1'
]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(t, specs=_specs) if t['type'] == 'GenerateGeodesicWeights' else t
    for t in _base_.train_pipeline]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(t, specs=_specs) if t['type'] == 'GenerateGeodesicWeights' else t
    for t in _base_.test_pipeline]))
test_dataloader = val_dataloader
