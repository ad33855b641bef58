# SynthAU: rendered 3D faces with 15 AUs (BP4D's 12 + DISFA's 9, 25, 26) and
# the ground-truth mesh of every image; generated into data/synthau on first
# use (about a minute on a 2-core CPU, subjects in parallel worker processes),
# subject-exclusive 3-part protocol like BP4D.
dataset_type = 'SynthAUDataset'
data_root = 'data/synthau'
image_size = 112
synthau = dict(
    seed=0,
    num_subjects=36,
    images_per_subject=40,
    image_size=image_size,
    num_parts=3,
    geometry='gt',
)
au_ids = [1, 2, 4, 6, 7, 9, 10, 12, 14, 15, 17, 23, 24, 25, 26]

# Geodesic weights of the model's GeoConv layers (specs='auto': GeoSpecsHook
# fills them from the model).
geo_weights = dict(
    type='GenerateGeodesicWeights', specs='auto', hierarchy_compensation=True
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadFaceSurface'),
    dict(type='RandomFlipFace', prob=0.5),
    dict(
        type='RandomHSVScale',
        hue=(0.8, 1.2),
        saturation=(0.7, 1.3),
        brightness=(0.7, 1.3),
    ),
    geo_weights,
    dict(type='PackAUInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadFaceSurface'),
    geo_weights,
    dict(type='PackAUInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        generator=synthau,
        au_ids=au_ids,
        fold=1,
        split='train',
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        generator=synthau,
        au_ids=au_ids,
        fold=1,
        split='test',
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='AUF1Metric', threshold=0.5)
test_evaluator = val_evaluator
