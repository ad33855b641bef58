"""Per-sample augmentation streams: a sample's draws depend on (seed,
epoch, index) only, never on what was drawn before or which process draws."""

import copy
import pickle
import random

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mmengine.dataset import DefaultSampler

from geoconv_mm.engine import KeyedSampler, SampleKey, SampleSeededPipeline
from geoconv_mm.engine.sample_rng import seed_sample_streams


def draw(results):
    return dict(
        results,
        drawn=(
            np.random.rand(),
            random.random(),
            float(torch.rand(1)),
        ),
    )


def test_a_key_is_its_index_and_keeps_its_stream_when_copied():
    key = SampleKey(7, seed=3, epoch=2)
    assert key == 7 and [10, 11, 12, 13, 14, 15, 16, 17][key] == 17
    for twin in (pickle.loads(pickle.dumps(key)), copy.deepcopy(key)):
        assert isinstance(twin, SampleKey)
        assert (int(twin), twin.seed, twin.epoch) == (7, 3, 2)
    assert isinstance(key + 1, int) and not isinstance(key + 1, SampleKey)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(-(2**63), 2**63 - 1),
    epoch=st.integers(0, 1000),
    index=st.integers(0, 10**6),
    noise=st.integers(0, 2**32 - 1),
)
def test_a_samples_draws_depend_on_its_key_alone(seed, epoch, index, noise):
    pipeline = SampleSeededPipeline(draw)
    key = SampleKey(index, seed, epoch)
    first = pipeline(dict(sample_idx=key))['drawn']
    np.random.seed(noise)  # whatever this process drew before
    random.seed(noise)
    torch.manual_seed(noise)
    assert pipeline(dict(sample_idx=key))['drawn'] == first
    for other in (
        SampleKey(index + 1, seed, epoch),
        SampleKey(index, seed, epoch + 1),
        SampleKey(index, seed + 1, epoch),
    ):
        assert pipeline(dict(sample_idx=other))['drawn'] != first


def test_a_plain_index_runs_the_pipeline_as_it_is():
    pipeline = SampleSeededPipeline(draw)
    np.random.seed(5)
    expected = np.random.rand()
    np.random.seed(5)
    assert pipeline(dict(sample_idx=3))['drawn'][0] == expected


def test_the_wrapper_shows_the_pipelines_attributes_and_pickles():
    class Compose:
        transforms = ['a', 'b']

        def __call__(self, results):
            return results

    wrapped = SampleSeededPipeline(Compose())
    assert wrapped.transforms == ['a', 'b']
    again = pickle.loads(pickle.dumps(SampleSeededPipeline(len)))
    assert again.pipeline is len


def test_keyed_sampler_keys_the_order_and_skips_once():
    sampler = DefaultSampler(list(range(10)), shuffle=True, seed=4)
    keyed = KeyedSampler(sampler)
    sampler.set_epoch(2)
    order = list(sampler)
    keys = list(keyed)
    assert keys == order and len(keyed) == 10
    assert all((k.seed, k.epoch) == (4, 2) for k in keys)
    keyed.skip_once(2, 4)
    assert list(keyed) == order[4:]  # the resumed epoch's rest
    assert list(keyed) == order  # once only
    keyed.skip_once(1, 4)  # another epoch: not this one
    assert list(keyed) == order


def test_seeding_is_repeatable():
    seed_sample_streams(1, 2, 3)
    a = (np.random.rand(), random.random(), float(torch.rand(1)))
    seed_sample_streams(1, 2, 3)
    assert (np.random.rand(), random.random(), float(torch.rand(1))) == a
