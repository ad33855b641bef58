# The demo GeoCNN G(11111) with the 'zero' off-surface rule (our option; the
# paper is silent): taps without a surface point get weight 0 instead of ratio
# 1 (geoconv_mm/geodesic/off_surface.py).
_base_ = './geocnn_synthau_demo.py'
_weights = dict(_base_.geo_weights, off_surface='zero')
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            _weights if t['type'] == 'GenerateGeodesicWeights' else t
            for t in _base_.train_pipeline
        ]
    )
)
val_dataloader = dict(
    dataset=dict(
        pipeline=[
            _weights if t['type'] == 'GenerateGeodesicWeights' else t
            for t in _base_.test_pipeline
        ]
    )
)
test_dataloader = val_dataloader
