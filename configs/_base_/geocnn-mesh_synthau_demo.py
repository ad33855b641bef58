# The demo GeoCNN G(11111) with its geodesic weights from another mesh of each
# frame: SynthAU's AU-free mesh, MediaPipe's reconstruction of the image or of
# the frame without the AUs, or the ground truth with smooth noise of a given
# size (geoconv_mm/datasets/transforms/surface_noise.py). The demo's train and
# test pipelines with their LoadFaceSurface step replaced.
# configs/geocnn-{neutral,recon,recon-neutral,meshnoise-*}_synthau_demo.py
# pick one.
_base_ = '../geocnn_synthau_demo.py'
_loaders = dict(
    neutral=[dict(type='LoadSynthAUFaceSurface', mesh='neutral')],
    recon=[dict(type='LoadSynthAUFaceSurface', mesh='recon')],
    recon_neutral=[dict(type='LoadSynthAUFaceSurface', mesh='recon_neutral')],
    **{
        f'noise{mm:g}mm': [
            dict(type='LoadFaceSurface'),
            dict(type='PerturbFaceSurface', rms_mm=mm),
        ]
        for mm in (0.5, 1, 2, 4)
    },
)
_mesh_pipelines = {
    name: dict(
        train=[
            step
            for t in _base_.train_pipeline
            for step in (steps if t['type'] == 'LoadFaceSurface' else [t])
        ],
        test=[
            step
            for t in _base_.test_pipeline
            for step in (steps if t['type'] == 'LoadFaceSurface' else [t])
        ],
    )
    for name, steps in _loaders.items()
}
