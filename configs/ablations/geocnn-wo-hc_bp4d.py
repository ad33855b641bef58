# Table 3 "w/o HC": GeoCNN with D_eu replaced by 1.0 in Eq. 4 (no hierarchy
# compensation); a data-side change only.
_base_ = '../geocnn_bp4d_fold1.py'
_no_hc = dict(_base_.geo_weights, hierarchy_compensation=False)
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            _no_hc if t['type'] == 'GenerateGeodesicWeights' else t
            for t in _base_.train_pipeline
        ]
    )
)
val_dataloader = dict(
    dataset=dict(
        pipeline=[
            _no_hc if t['type'] == 'GenerateGeodesicWeights' else t
            for t in _base_.test_pipeline
        ]
    )
)
test_dataloader = val_dataloader
