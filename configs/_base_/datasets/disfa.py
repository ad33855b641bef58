# DISFA (left camera), 8 AUs positive at intensity >= 2, subject-exclusive
# 3-fold protocol (fold set by the top-level configs). Layout written by
# tools/dataset_converters/prepare_disfa.py (aligned 224 x 224 crops,
# FaceSurface records, annotations/disfa.json).
_base_ = './au_faces_224.py'
dataset_type = 'DISFADataset'
data_root = 'data/disfa'
ann_file = 'annotations/disfa.json'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file)
)
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file)
)
test_dataloader = val_dataloader
