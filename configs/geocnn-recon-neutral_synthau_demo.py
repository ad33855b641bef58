# Control of configs/geocnn-recon_synthau_demo.py: geodesic weights from
# MediaPipe's Face Mesh of each frame rendered without its AUs (same identity,
# pose, light and noise). What GeoConv gains here comes from the reconstructed
# face shape, not from the AU.
_base_ = './_base_/geocnn-mesh_synthau_demo.py'
_pipelines = _base_._mesh_pipelines['recon_neutral']
_data = dict(generator=dict(reconstruct=True))
train_dataloader = dict(dataset=dict(_data, pipeline=_pipelines['train']))
val_dataloader = dict(dataset=dict(_data, pipeline=_pipelines['test']))
test_dataloader = val_dataloader
