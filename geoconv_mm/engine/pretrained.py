"""A clear message when a pretrained checkpoint cannot be downloaded."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple


def remote_checkpoints(
    cfg: Any, prefix: str = 'model'
) -> List[Tuple[str, str]]:
    """(config key of an ``init_cfg``, URL) of every remote ``Pretrained``
    init in ``cfg`` (a model config or any part of it)."""
    found = []
    if isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        inits = init if isinstance(init, (list, tuple)) else [init]
        for item in inits:
            if (
                isinstance(item, dict)
                and item.get('type') == 'Pretrained'
                and '://' in str(item.get('checkpoint', ''))
            ):
                found.append((f'{prefix}.init_cfg', str(item['checkpoint'])))
        for key, value in cfg.items():
            if key != 'init_cfg':
                found += remote_checkpoints(value, f'{prefix}.{key}')
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            found += remote_checkpoints(value, f'{prefix}[{i}]')
    return found


def offline_checkpoint_message(
    model_cfg: Any, error: BaseException
) -> Optional[str]:
    """One line saying which checkpoint could not be fetched and which config
    key to set; None when ``model_cfg`` downloads nothing.

    Args:
        model_cfg: The ``model`` config.
        error (BaseException): The download error.
    """
    remote = remote_checkpoints(model_cfg)
    if not remote:
        return None
    reason = getattr(error, 'reason', None) or error
    keys = ', '.join(k for k, _ in remote)
    urls = ', '.join(u for _, u in remote)
    return (
        f'cannot download the pretrained checkpoint {urls} ({reason}): '
        f'set {remote[0][0]}.checkpoint to a local file, or {keys}=None '
        'to train from scratch (e.g. VGG-19s), e.g. with --cfg-options'
    )
