# GeoCNN = G(11111) with the joint occurrence + intensity head on BP4D's five
# intensity-coded AUs (6, 10, 12, 14, 17) with the FERA 2015 intensity
# sub-challenge's split: trains on its training subjects (odd numbers), tests
# on its development subjects (even numbers). Needs an annotation prepared
# from a copy with AUCoding/AU_INT. Frames not coded for an AU (9) are left
# out of its loss and metrics.
_base_ = [
    '../_base_/models/geocnn_intensity.py',
    '../_base_/datasets/bp4d.py',
    '../_base_/schedules/au_sgd_cosine_14e.py',
    '../_base_/default_runtime.py',
]
au_ids = [6, 10, 12, 14, 17]
model = dict(head=dict(num_aus=len(au_ids)))
_fera = dict(
    au_ids=au_ids, with_intensity=True, protocol='fera2015', fold=None
)
train_dataloader = dict(dataset=_fera)
val_dataloader = dict(dataset=_fera)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='AUF1Metric', threshold=0.5),
    dict(type='AUIntensityMetric'),
]
test_evaluator = val_evaluator
