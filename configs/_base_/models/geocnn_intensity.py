# GeoCNN (./geocnn.py: VGG-19 branch + GeoConv branch, G(11111)) with one head
# for both AU outputs, from the same fused feature: occurrence (one sigmoid
# per AU, the balanced loss of Eq. 5-6) and intensity (0-5, by regression,
# masked MSE). One model thus gives OpenFace's AUxx_c and AUxx_r. The top-level
# configs set num_aus.
_base_ = './geocnn.py'
model = dict(
    head=dict(
        _delete_=True,
        type='AUOccurrenceIntensityHead',
        num_aus=12,
        in_channels=512,
        occurrence=dict(
            type='AUHead',
            loss=dict(type='AUBalancedBCELoss', use_balanced_weights=True),
        ),
        intensity=dict(
            type='AUIntensityHead', loss=dict(type='AUIntensityMSELoss')
        ),
    )
)
