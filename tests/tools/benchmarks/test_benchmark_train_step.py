"""Tiny runs of the training-step benchmark's comparisons: native kernels
against the portable backend, and eager against compiled."""

import pytest
import torch

from tests.fixtures.tools import load_tool

TOOL = 'tools/benchmarks/benchmark_train_step.py'
DEMO = 'configs/geocnn_synthau_demo.py'
TINY = ['--config', DEMO, '--device', 'cpu', '--image-size', '32']
TINY += ['--batch-size', '2']


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_batches_carry_the_metainfo_of_a_pipeline(tool):
    model, _ = tool.build(DEMO, 'cpu')
    a = tool.make_batch(model, 2, 32, 'cpu', seed=0)
    b = tool.make_batch(model, 2, 32, 'cpu', seed=1)
    frames = [s.frame for s in a['data_samples'] + b['data_samples']]
    assert len(set(frames)) == 4 and min(frames) > 256  # not cached ints
    assert {s.flip for s in a['data_samples']} == {True, False}
    assert set(a['data_samples'][0].geo_weights) == {
        s.key for s in tool.collect_geo_specs(model, (32, 32))
    }
    bare = tool.make_batch(model, 2, 32, 'cpu', seed=0, metainfo=False)
    assert 'frame' not in bare['data_samples'][0]


def test_native_and_portable_steps_agree(tool, tmp_path):
    result = tool.main(
        TINY
        + ['--compare', 'backends', '--iters', '2', '--warmup', '1']
        + ['--out', str(tmp_path / 'r.json')]
    )
    assert result['ok'], result
    assert result['max_grad_rel_diff'] < 1e-4
    assert result['loss']['native'] == pytest.approx(
        result['loss']['torch'], rel=1e-5
    )
    assert set(result['median_s']) == {'native', 'torch'}
    assert (tmp_path / 'r.json').exists()


@pytest.mark.parametrize('metainfo', ['pipeline', 'none'])
def test_the_network_compiles_once_for_all_batches(tool, metainfo):
    # Nothing the guards see changes between batches: GeoConv's bound
    # context, specs and shapes, and the per-sample metainfo that the data
    # preprocessor (run eagerly) copies.
    torch._dynamo.reset()
    result = tool.main(
        TINY
        + ['--compare', 'compile', '--iters', '3', '--warmup', '1']
        + ['--compile-backend', 'aot_eager', '--metainfo', metainfo]
    )
    graphs = result['graphs_after_step']
    assert len(graphs) == 4 and graphs[0] >= 1
    assert len(result['losses']['eager']) == 4
    # The second step may add the optimizer's update with its state, then
    # nothing changes.
    assert graphs[2:] == [graphs[1]] * 2, graphs
    assert result['max_loss_rel_diff'] < 1e-4
    assert result['ok'], result
