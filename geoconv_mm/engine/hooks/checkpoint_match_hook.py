"""Checkpoints the Runner loads (``load_from``, ``--resume``) must fit the
model."""

from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.runner import find_latest_checkpoint
from mmpretrain.registry import HOOKS

from ..checkpoint import (
    CheckpointMismatchError,
    log_mismatch,
    state_dict_mismatch,
)


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Refuse a checkpoint whose weights do not fit the model, before the
    Runner loads it.

    MMEngine's Runner loads ``load_from`` and resumed checkpoints
    non-strictly and only warns: a checkpoint of another network leaves the
    layers it lacks at their random initialisation, and testing or
    fine-tuning goes on as if nothing happened. This hook compares the
    checkpoint with the model when the Runner has read it and, with
    ``strict``, raises :class:`~geoconv_mm.engine.CheckpointMismatchError`
    listing the missing, unexpected and reshaped keys (the rule of
    :func:`~geoconv_mm.engine.load_model_weights`).

    Args:
        strict (bool): Raise on any mismatch (the default); ``False`` logs
            the keys left out and lets the Runner load the rest (the tools'
            ``--non-strict``).
    """

    priority = 'VERY_HIGH'

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict', checkpoint)
        missing, unexpected, mismatched = state_dict_mismatch(
            runner.model, state
        )
        if not (missing or unexpected or mismatched):
            return
        path = _loaded_path(runner)
        if self.strict:
            raise CheckpointMismatchError(
                path, missing, unexpected, mismatched
            )
        log_mismatch(runner.logger, path, missing, unexpected, mismatched)


def _loaded_path(runner) -> str:
    """The file the Runner is loading, as its ``load_or_resume`` finds it."""
    cfg = runner.cfg
    path = cfg.get('load_from', None)
    if path is None and cfg.get('resume', False):
        path = find_latest_checkpoint(runner.work_dir)
    return str(path) if path else 'the checkpoint'
