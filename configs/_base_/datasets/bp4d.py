# BP4D, 12 AUs, subject-exclusive 3-fold protocol (fold set by the top-level
# configs). Layout written by tools/dataset_converters/prepare_bp4d.py (aligned
# 224 x 224 crops, FaceSurface records, annotations/bp4d.json).
_base_ = './au_faces_224.py'
dataset_type = 'BP4DDataset'
data_root = 'data/bp4d'
ann_file = 'annotations/bp4d.json'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file)
)
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file)
)
test_dataloader = val_dataloader
