# AU intensity on SynthAU: the quick start's GeoCNN = G(11111)
# (configs/geocnn_synthau_demo.py, same data, schedule and seed) with one head
# for both AU outputs, occurrence (balanced loss, Eq. 5-6) and intensity
# (0-5), trained on SynthAU's intensity codes, which its generator derives
# from each frame's known AU strength. The test reports F1 and ICC(3,1),
# Pearson's r and MAE per AU.
#   python tools/train.py configs/geocnn-int_synthau_demo.py
# configs/geocnn-int-g00000_synthau_demo.py is the same network with plain
# convolutions only (G(00000)).
_base_ = './geocnn_synthau_demo.py'
model = dict(
    head=dict(
        _delete_=True,
        type='AUOccurrenceIntensityHead',
        num_aus=15,
        in_channels=128,
        occurrence=dict(
            type='AUHead',
            dropout=0.2,
            loss=dict(type='AUBalancedBCELoss', use_balanced_weights=True),
        ),
        intensity=dict(
            type='AUIntensityHead',
            dropout=0.2,
            loss=dict(type='AUIntensityMSELoss'),
        ),
    )
)
train_dataloader = dict(dataset=dict(with_intensity=True))
val_dataloader = dict(dataset=dict(with_intensity=True))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='AUF1Metric', threshold=0.5),
    dict(type='AUIntensityMetric'),
]
test_evaluator = val_evaluator
