"""RNGStateHook on a toy MMEngine run whose every step is random (an
augmentation drawing from numpy, Python and torch, dropout in the model): a
run resumed from any of its checkpoints, mid-epoch or not, ends with the
bits of the run never interrupted; without the hook it does not."""

import itertools
import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset
from mmengine.model import BaseModel
from mmengine.runner import Runner

from geoconv_mm.engine import RNGStateHook

_names = itertools.count()


class Jitter:
    """An augmentation that draws from all three global generators."""

    def __call__(self, results):
        x = results['x'] + np.random.normal(size=4).astype(np.float32)
        x = x * random.uniform(0.5, 1.5) + torch.rand(4).numpy()
        return dict(results, x=x.astype(np.float32))


class Points(BaseDataset):
    """12 fixed points; the pipeline jitters them."""

    def __init__(self):
        super().__init__(pipeline=[Jitter()], serialize_data=False)

    def load_data_list(self):
        rng = np.random.RandomState(0)
        return [
            dict(x=rng.rand(4).astype(np.float32), y=float(i % 2))
            for i in range(12)
        ]


class Net(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x, y, mode='loss'):
        out = self.fc(self.drop(x)).squeeze(1)
        return dict(loss=((out - y) ** 2).mean())


def collate(batch):
    return dict(
        x=torch.from_numpy(np.stack([b['x'] for b in batch])),
        y=torch.tensor([b['y'] for b in batch]),
    )


def run(work_dir, *, hook=True, resume=None, workers=0, seed=0):
    """Three epochs of three iterations, a checkpoint after every one."""
    hooks = dict(
        checkpoint=dict(
            type='CheckpointHook',
            interval=1,
            by_epoch=False,
            max_keep_ckpts=-1,
        )
    )
    if hook:
        hooks['rng_state'] = RNGStateHook()
    torch.manual_seed(1234)  # the same initial weights in every run
    model = Net()
    runner = Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=f'rng_state_hook_{next(_names)}',
        train_dataloader=dict(
            dataset=Points(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4,
            num_workers=workers,
            persistent_workers=workers > 0,
            collate_fn=collate,
        ),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=hooks,
        randomness=dict(seed=seed),
        resume=resume is not None,
        load_from=resume,
        # The configs' scope: the current scope outlives the runner, and the
        # tests after this one build from mmpretrain's registries.
        default_scope='mmpretrain',
    )
    runner.train()
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    work = tmp_path_factory.mktemp('reference')
    return work, run(work)


@pytest.mark.parametrize('resume_at', range(1, 9))
def test_a_run_resumed_from_any_checkpoint_ends_with_the_same_bits(
    reference, tmp_path, resume_at
):
    work, final = reference
    resumed = run(tmp_path, resume=osp.join(work, f'iter_{resume_at}.pth'))
    assert same(resumed, final)


def test_a_checkpoint_carries_the_state_and_the_samplers_place(reference):
    work, _ = reference
    ckpt = torch.load(osp.join(work, 'iter_4.pth'), weights_only=True)
    sampler = ckpt['rng_state']['sampler']
    # Iteration 4 is the first of epoch 2 (index 1): 4 of its 12 samples.
    assert sampler == dict(
        seed=0, epoch=1, position=4, world_size=1, dataset_size=12
    )
    assert set(ckpt['rng_state']) == {'python', 'numpy', 'torch', 'sampler'}
    end = torch.load(osp.join(work, 'iter_6.pth'), weights_only=True)
    assert end['rng_state']['sampler']['position'] == 12


def test_the_number_of_workers_does_not_matter(reference, tmp_path):
    _, final = reference
    assert same(run(tmp_path, workers=2), final)


def test_without_the_hook_a_resumed_run_differs(tmp_path):
    # The reference the tests above differ from: MMEngine alone re-seeds.
    full = run(tmp_path / 'a', hook=False)
    resumed = run(
        tmp_path / 'b',
        hook=False,
        resume=osp.join(tmp_path / 'a', 'iter_4.pth'),
    )
    assert not same(resumed, full)


def test_another_seed_is_another_run(reference, tmp_path):
    _, final = reference
    assert not same(run(tmp_path, seed=1), final)


class Logger:
    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(message)


@pytest.mark.parametrize('case', ['concat', 'infinite', 'plain'])
def test_what_cannot_be_keyed_is_said_not_silent(case):
    from mmengine.dataset import ConcatDataset, DefaultSampler, InfiniteSampler
    from torch.utils.data import DataLoader

    from geoconv_mm.engine import KeyedSampler, SampleSeededPipeline
    from geoconv_mm.engine.hooks.rng_state_hook import _install_sample_streams

    dataset = (
        ConcatDataset([Points(), Points()]) if case == 'concat' else Points()
    )
    sampler = (InfiniteSampler if case == 'infinite' else DefaultSampler)(
        dataset, seed=0
    )
    loader = DataLoader(
        dataset, batch_size=2, sampler=sampler, collate_fn=collate
    )
    logger = Logger()
    keyed = _install_sample_streams(loader, logger)
    if case == 'plain':
        assert isinstance(keyed, KeyedSampler) and logger.warnings == []
        assert isinstance(dataset.pipeline, SampleSeededPipeline)
        assert _install_sample_streams(loader, logger) is keyed  # once
        return
    assert keyed is None
    (warning,) = logger.warnings
    assert 'per-sample augmentation streams are off' in warning
    assert {'concat': 'ConcatDataset', 'infinite': "no 'epoch'"}[case] in (
        warning
    )
