# Neutral-mesh control: the demo GeoCNN G(11111) whose geodesic weights come
# from the AU-free mesh of the same identity at the same pose (SynthAU keeps it
# per frame). What GeoConv gains here comes from the face shape, not from the
# AU.
_base_ = './geocnn_synthau_demo.py'
_neutral = dict(type='LoadNeutralFaceSurface')
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            _neutral if t['type'] == 'LoadFaceSurface' else t
            for t in _base_.train_pipeline
        ]
    )
)
val_dataloader = dict(
    dataset=dict(
        pipeline=[
            _neutral if t['type'] == 'LoadFaceSurface' else t
            for t in _base_.test_pipeline
        ]
    )
)
test_dataloader = val_dataloader
