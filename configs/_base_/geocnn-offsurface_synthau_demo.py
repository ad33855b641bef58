# The demo GeoCNN G(11111) with each off-surface rule of the geodesic weights
# (our options; the paper is silent, geoconv_mm/geodesic/off_surface.py): the
# demo's train and test pipelines with the rule set in their
# GenerateGeodesicWeights step.
# configs/geocnn-offsurface-<rule>_synthau_demo.py picks one.
_base_ = '../geocnn_synthau_demo.py'
_off_surface_pipelines = {
    rule: dict(
        train=[
            dict(t, off_surface=rule)
            if t['type'] == 'GenerateGeodesicWeights'
            else t
            for t in _base_.train_pipeline
        ],
        test=[
            dict(t, off_surface=rule)
            if t['type'] == 'GenerateGeodesicWeights'
            else t
            for t in _base_.test_pipeline
        ],
    )
    for rule in ('cap', 'zero')
}
