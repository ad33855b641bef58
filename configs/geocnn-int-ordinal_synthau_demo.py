# The intensity demo (configs/geocnn-int_synthau_demo.py) with the ordinal
# intensity head instead of regression: five ordered binary decisions
# "intensity > k" per AU (CORAL), trained with their cross-entropy; the
# estimate is their expected value. The comparison of the two heads is in
# docs/en/user_guides/intensity.md.
_base_ = './geocnn-int_synthau_demo.py'
model = dict(
    head=dict(
        intensity=dict(
            type='AUOrdinalIntensityHead', loss=dict(type='AUOrdinalLoss')
        )
    )
)
