"""Per-sample augmentation streams.

The random augmentations of a training sample (flips, crops, colour jitter)
draw from the global generators of whichever process loads it: a data-loader
worker, whose streams depend on which samples that worker loaded before, or
the training process itself. A resumed run starts fresh workers, so from the
resumed epoch on every augmentation differs from the uninterrupted run's.

Here every sample draws from streams seeded by ``(seed, epoch, index)``
alone: :class:`KeyedSampler` hands the dataset :class:`SampleKey` indices
that carry seed and epoch, and :class:`SampleSeededPipeline` seeds numpy's,
Python's and torch's global generators from the key before the sample's
pipeline runs. A sample's augmentation is then the same whatever worker
loads it, however many workers there are, and after any resume: the state of
every worker's streams is restored by the seed and epoch a checkpoint holds.
"""

from __future__ import annotations

import random
from typing import Iterator, Optional

import numpy as np
import torch
from torch.utils.data import Sampler

# SeedSequence takes non-negative entropy; a negative seed maps to its 64-bit
# two's complement.
_MASK64 = (1 << 64) - 1


class SampleKey(int):
    """A dataset index that carries its sample's stream: ``int(key)`` is the
    index; ``seed`` and ``epoch`` with it select the stream.

    Args:
        index (int): The dataset index.
        seed (int): The run's sampler seed.
        epoch (int): The epoch the sample is drawn in.
    """

    def __new__(cls, index: int, seed: int, epoch: int) -> 'SampleKey':
        key = super().__new__(cls, index)
        key.seed = int(seed)
        key.epoch = int(epoch)
        return key

    def __reduce__(self):
        return SampleKey, (int(self), self.seed, self.epoch)

    def __repr__(self) -> str:
        return f'SampleKey({int(self)}, seed={self.seed}, epoch={self.epoch})'


def seed_sample_streams(seed: int, epoch: int, index: int) -> None:
    """Seed numpy's legacy global generator, Python's ``random`` and torch's
    CPU generator from ``(seed, epoch, index)``.

    Distinct triples give independent streams (``np.random.SeedSequence``).
    Only this process's generators change; the training process restores
    its own before each iteration (:class:`~.hooks.RNGStateHook`).
    """
    sequence = np.random.SeedSequence([seed & _MASK64, epoch, index])
    words = sequence.generate_state(8, np.uint32)
    np.random.seed(words)
    random.seed(int.from_bytes(words.tobytes(), 'little'))
    torch.default_generator.manual_seed(int(words[:2].view(np.uint64)[0]))


class KeyedSampler(Sampler):
    """Yields the indices of ``sampler`` as :class:`SampleKey`, with the
    sampler's ``seed`` and current ``epoch``.

    It reads both from ``sampler`` each time an epoch's iteration starts, so
    ``sampler.set_epoch`` (MMEngine's ``DistSamplerSeedHook``) keeps working
    on the sampler it was given.

    Args:
        sampler: A sampler with ``seed`` and ``epoch`` attributes (MMEngine's
            ``DefaultSampler``).
    """

    def __init__(self, sampler) -> None:
        for name in ('seed', 'epoch'):
            if not hasattr(sampler, name):
                raise TypeError(
                    f'{type(sampler).__name__} has no {name!r}: per-sample '
                    'streams need a sampler with a seed and epochs'
                )
        self.sampler = sampler
        self._skip_epoch: Optional[int] = None
        self._skip = 0

    def skip_once(self, epoch: int, count: int) -> None:
        """Leave out the first ``count`` indices of ``epoch``'s next
        iteration: the samples a resumed run's checkpoint had trained on."""
        self._skip_epoch, self._skip = epoch, int(count)

    def __iter__(self) -> Iterator[SampleKey]:
        seed, epoch = self.sampler.seed, self.sampler.epoch
        skip = self._skip if epoch == self._skip_epoch else 0
        self._skip_epoch, self._skip = None, 0
        for position, index in enumerate(self.sampler):
            if position >= skip:
                yield SampleKey(index, seed, epoch)

    def __len__(self) -> int:
        return len(self.sampler)


class SampleSeededPipeline:
    """A dataset pipeline run on the streams of its sample's key.

    A data info whose ``sample_idx`` is a :class:`SampleKey` (MMEngine's
    ``BaseDataset.get_data_info`` stores the index it was given there) seeds
    the generators (:func:`seed_sample_streams`) before the pipeline runs;
    any other (validation, testing) runs the pipeline as it is. Attributes
    are the wrapped pipeline's.

    Args:
        pipeline (callable): The dataset's pipeline (``Compose``).
    """

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    def __call__(self, results: dict):
        key = results.get('sample_idx')
        if isinstance(key, SampleKey):
            seed_sample_streams(key.seed, key.epoch, int(key))
        return self.pipeline(results)

    def __getattr__(self, name: str):
        if name == 'pipeline':  # not yet set (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.pipeline, name)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.pipeline!r})'
