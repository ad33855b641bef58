"""Reproducible resume: checkpoints carry the random state of training."""

from __future__ import annotations

from typing import Optional

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from ..rng_state import get_rng_state, set_rng_state
from ..sample_rng import KeyedSampler, SampleKey, SampleSeededPipeline


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make a run resumed from a checkpoint end bit-identical to the run
    that was never interrupted (same machine, same thread count).

    MMEngine saves no random state: a resumed run re-seeds, so its dropout
    masks and augmentations differ from the interrupted run's from the
    resumed epoch on. This hook:

    - gives every training sample its own augmentation streams, seeded by
      ``(sampler seed, epoch, index)`` (:mod:`~geoconv_mm.engine.sample_rng`):
      the streams of the data-loader workers are then restored by the seed
      and epoch alone, and do not depend on the number of workers;
    - sets the training process's generators (torch CPU and CUDA, numpy,
      Python) before every iteration to their state at the end of the
      previous one, so that draws between iterations (a validation, a
      data loader starting its workers, samples loaded in this process)
      never change training;
    - writes that state, the sampler's seed and its position in the epoch
      into every checkpoint (``rng_state``), and restores them on resume; a
      checkpoint written mid-epoch resumes at the next sample of that epoch.

    Anything it cannot make reproducible (a sampler without seed and epoch,
    a dataset that does not hand the sampler's index to its pipeline, a
    checkpoint without ``rng_state``) is logged as a warning.
    """

    priority = 'HIGHEST'

    def __init__(self) -> None:
        self._state: Optional[dict] = None
        self._loaded: Optional[tuple] = None
        self._sampler: Optional[KeyedSampler] = None
        self._batch_size = 1
        # Iterations done in epoch `_count_epoch` (a resumed epoch starts
        # with those its checkpoint had done).
        self._epoch_iters = 0
        self._count_epoch: Optional[int] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta') or {}
        self._loaded = (
            checkpoint.get('rng_state'),
            meta.get('epoch'),
            meta.get('iter'),
        )

    def before_train(self, runner) -> None:
        loader = runner.train_loop.dataloader
        self._sampler = _install_sample_streams(loader, runner.logger)
        self._batch_size = getattr(loader.batch_sampler, 'batch_size', 1)
        self._count_epoch = runner.epoch
        self._epoch_iters = 0
        state = self._resumed_state(runner)
        if state is None:
            self._state = get_rng_state()
            return
        sampler = state.pop('sampler')
        self._state = state
        self._restore_sampler(runner, sampler, loader)

    def before_train_epoch(self, runner) -> None:
        if runner.epoch != self._count_epoch:
            self._count_epoch, self._epoch_iters = runner.epoch, 0

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        set_rng_state(self._state, runner.logger)

    def after_train_iter(
        self, runner, batch_idx, data_batch=None, outputs=None
    ) -> None:
        self._state = get_rng_state()
        self._epoch_iters += 1

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._state is None:
            return
        epoch = (checkpoint.get('meta') or {}).get('epoch', runner.epoch)
        done = self._epoch_iters if epoch == self._count_epoch else 0
        inner = self._sampler.sampler if self._sampler else None
        checkpoint['rng_state'] = dict(
            self._state,
            sampler=dict(
                seed=getattr(inner, 'seed', None),
                epoch=epoch,
                position=done * self._batch_size,
                world_size=get_world_size(),
                dataset_size=len(runner.train_loop.dataloader.dataset),
            ),
        )

    def _resumed_state(self, runner) -> Optional[dict]:
        """The RNG state of the checkpoint this run resumed from, if it
        resumed (the loaded checkpoint's epoch and iteration are the run's)."""
        if self._loaded is None or runner.iter == 0:
            return None
        state, epoch, it = self._loaded
        if (epoch, it) != (runner.epoch, runner.iter):
            return None
        if state is None:
            runner.logger.warning(
                'RNGStateHook: the resumed checkpoint holds no random state '
                '(written without this hook): the run goes on from fresh '
                'generators and will not reproduce the interrupted one'
            )
            return None
        return dict(state)

    def _restore_sampler(self, runner, saved: dict, loader) -> None:
        if self._sampler is None:
            return
        inner = self._sampler.sampler
        if saved['seed'] is not None and saved['seed'] != inner.seed:
            runner.logger.info(
                f'RNGStateHook: sampler seed {saved["seed"]} restored from '
                f'the checkpoint (this run drew {inner.seed})'
            )
            inner.seed = saved['seed']
        size = len(loader.dataset)
        if saved['dataset_size'] != size:
            runner.logger.warning(
                f'RNGStateHook: the checkpoint was trained on '
                f'{saved["dataset_size"]} samples, this dataset has {size}: '
                'the resumed run will not reproduce the interrupted one'
            )
        if not saved['position']:
            return
        if saved['world_size'] != get_world_size():
            raise RuntimeError(
                f'the checkpoint was written in the middle of epoch '
                f'{saved["epoch"] + 1} by {saved["world_size"]} process(es); '
                f'this run has {get_world_size()}, which would split the rest '
                'of that epoch differently: resume it with '
                f'{saved["world_size"]} process(es), or from a checkpoint '
                'written at the end of an epoch'
            )
        self._sampler.skip_once(saved['epoch'], saved['position'])
        self._count_epoch = saved['epoch']
        self._epoch_iters = saved['position'] // self._batch_size
        runner.logger.info(
            f'RNGStateHook: resuming epoch {saved["epoch"] + 1} after its '
            f'first {saved["position"]} samples'
        )


def _install_sample_streams(loader, logger) -> Optional[KeyedSampler]:
    """Key the training loader's indices and seed its dataset's pipeline by
    them; returns the keyed sampler, or None (with a warning naming why)."""
    batches = loader.batch_sampler
    if isinstance(getattr(batches, 'sampler', None), KeyedSampler):
        return batches.sampler
    why = None
    holder = _pipeline_holder(loader.dataset)
    if batches is None or not hasattr(batches, 'sampler'):
        why = 'the training loader has no batch sampler with a sampler'
    elif holder is None:
        why = f'{type(loader.dataset).__name__} has no pipeline'
    else:
        try:
            keyed = KeyedSampler(batches.sampler)
        except TypeError as exc:
            why = str(exc)
        else:
            if len(loader.dataset) > 0 and not _hands_on_the_key(
                loader.dataset
            ):
                why = (
                    f'{type(loader.dataset).__name__} does not hand the '
                    "sampler's index to its pipeline as sample_idx"
                )
    if why is not None:
        logger.warning(
            f'RNGStateHook: per-sample augmentation streams are off ({why});'
            ' a resumed run will not reproduce the interrupted one'
        )
        return None
    holder.pipeline = SampleSeededPipeline(holder.pipeline)
    batches.sampler = keyed
    return keyed


def _hands_on_the_key(dataset) -> bool:
    """Whether ``dataset`` gives its pipeline the index it is asked for as
    ``sample_idx`` (MMEngine's ``BaseDataset.get_data_info`` does)."""
    info = dataset.get_data_info(SampleKey(0, 0, 0))
    return isinstance(info.get('sample_idx'), SampleKey)


def _pipeline_holder(dataset):
    """The dataset object that runs the pipeline (through MMEngine's
    index-preserving wrappers)."""
    while dataset is not None:
        if hasattr(dataset, 'pipeline'):
            return dataset
        dataset = getattr(dataset, '_dataset', None)
    return None
