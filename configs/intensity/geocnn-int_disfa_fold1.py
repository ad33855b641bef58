# GeoCNN = G(11111) with the joint occurrence + intensity head on DISFA, the
# 12 labelled AUs (intensity 0-5; occurrence at intensity >= 2), fold 1
# (trains on parts 1+2, tests on part 3). Test: F1 and ICC(3,1), Pearson's r,
# MAE per AU; tools/analysis_tools/aggregate_folds.py averages the folds.
_base_ = [
    '../_base_/models/geocnn_intensity.py',
    '../_base_/datasets/disfa.py',
    '../_base_/schedules/au_sgd_cosine_14e.py',
    '../_base_/default_runtime.py',
]
au_ids = [1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26]
model = dict(head=dict(num_aus=len(au_ids)))
train_dataloader = dict(dataset=dict(au_ids=au_ids, with_intensity=True))
val_dataloader = dict(dataset=dict(au_ids=au_ids, with_intensity=True))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='AUF1Metric', threshold=0.5),
    dict(type='AUIntensityMetric'),
]
test_evaluator = val_evaluator
