# Runtime shared by every geoconv-mm config (MMPretrain conventions).
default_scope = 'mmpretrain'
# Registers GeoConv, GeoCNN, the AU datasets/transforms/metric and the hooks,
# also for users who call MMEngine's Runner from their own scripts.
custom_imports = dict(imports=['geoconv_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # A resumed run ends bit-identical to the uninterrupted one
    # (docs/en/user_guides/resume.md); a checkpoint that does not fit the
    # model is an error listing the keys (the tools' --non-strict relaxes
    # it); data-loader workers end with the process that started them.
    rng_state=dict(type='RNGStateHook'),
    checkpoint_match=dict(type='CheckpointMatchHook'),
    worker_lifetime=dict(type='WorkerLifetimeHook'),
)
# GeoSpecsHook fills GenerateGeodesicWeights(specs='auto') from the model's
# GeoConv layers; AUStatisticsHook hands the training split's per-AU counts to
# the balanced loss (Eq. 6).
custom_hooks = [dict(type='GeoSpecsHook'), dict(type='AUStatisticsHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo on hosts without CUDA.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
