# The demo GeoCNN G(11111) with the geometry a user has: geodesic weights from
# MediaPipe's Face Mesh of each rendered image, as the prepare tools fit it to
# a user's frames, instead of the mesh that was rendered. The build keeps
# those meshes beside the ground truth (reconstruct=True).
_base_ = './_base_/geocnn-mesh_synthau_demo.py'
_pipelines = _base_._mesh_pipelines['recon']
_data = dict(generator=dict(reconstruct=True))
train_dataloader = dict(dataset=dict(_data, pipeline=_pipelines['train']))
val_dataloader = dict(dataset=dict(_data, pipeline=_pipelines['test']))
test_dataloader = val_dataloader
