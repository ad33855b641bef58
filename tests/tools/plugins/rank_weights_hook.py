"""Test-only hook: every rank saves its parameters after training, so that a
test can check that distributed ranks end with identical weights."""

import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class RankWeightsHook(Hook):
    def after_train(self, runner) -> None:
        model = (
            runner.model.module
            if is_model_wrapper(runner.model)
            else runner.model
        )
        params = {
            n: p.detach().cpu().clone() for n, p in model.named_parameters()
        }
        torch.save(
            dict(
                params=params,
                wrapped=type(runner.model).__name__,
                iter=runner.iter,
            ),
            osp.join(runner.work_dir, f'rank{get_rank()}_params.pth'),
        )
