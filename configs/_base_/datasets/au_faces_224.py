# Aligned 224 x 224 face crops with FaceSurface records, as the prepare tools
# write them for BP4D and DISFA: the pipelines and loaders both data sets
# share. bp4d.py and disfa.py set the data set; the top-level configs set the
# fold.
image_size = 224

# Geodesic weights of exactly the model's GeoConv layers: GeoSpecsHook
# (default_runtime.py) fills specs='auto' from the model before each loop; for
# a model without GeoConv the transform does nothing.
geo_weights = dict(
    type='GenerateGeodesicWeights', specs='auto', hierarchy_compensation=True
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadFaceSurface'),
    dict(type='ResizeFace', scale=image_size),
    # Not in the paper: a label-preserving flip (AU occurrence labels are not
    # sided); it flips the mesh, so the geodesic weights follow. prob=0 to
    # disable.
    dict(type='RandomFlipFace', prob=0.5),
    # Sec. 4.1: hue, saturation, brightness x U[0.6, 1.4]; PCA noise,
    # alpha ~ N(0, 0.1).
    dict(
        type='RandomHSVScale',
        hue=(0.6, 1.4),
        saturation=(0.6, 1.4),
        brightness=(0.6, 1.4),
    ),
    dict(type='PCALighting', alphastd=0.1),
    geo_weights,
    dict(type='PackAUInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadFaceSurface'),
    dict(type='ResizeFace', scale=image_size),
    geo_weights,
    dict(type='PackAUInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(fold=1, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(fold=1, split='test', pipeline=test_pipeline),
)
# The AU protocol has no separate validation split: both evaluate the held-out
# part.
test_dataloader = val_dataloader
val_evaluator = dict(type='AUF1Metric', threshold=0.5)
test_evaluator = val_evaluator
