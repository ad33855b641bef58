"""A tiny run of the GeoConv benchmark: every method timed per shape, batch
and case, ratios to conv2d, the self-check's cost and the README table."""

import json

import pytest
import torch

from tests.fixtures.tools import load_tool

TOOL = 'tools/benchmarks/benchmark_geoconv.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL)


def test_tiny_run_reports_every_method_and_ratio(
    tool, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv('MALLOC_MMAP_THRESHOLD_', '131072')
    out = tmp_path / 'bench.json'
    argv = ['--batch', '1,2', '--shapes', '8:4:6', '--repeats', '2']
    argv += ['--min-repeats', '1', '--budget', '1', '--portable']
    argv += ['--cases', 'forward,train', '--out', str(out)]
    result = tool.main(argv)
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    rows = result['rows']
    assert [(r['batch'], r['case']) for r in rows] == [
        (1, 'forward'),
        (1, 'train'),
        (2, 'forward'),
        (2, 'train'),
    ]
    for r in rows:
        for name in ('conv2d', 'geoconv', 'portable'):
            assert r[f'{name}_s'] > 0
        assert r['geo_over_conv'] == pytest.approx(
            r['geoconv_s'] / r['conv2d_s']
        )
        assert r['portable_over_conv'] == pytest.approx(
            r['portable_s'] / r['conv2d_s']
        )
        assert len(r['loadavg']) == 3
    assert result['summary']['train']['max_geo_over_conv'] == max(
        r['geo_over_conv'] for r in rows if r['case'] == 'train'
    )
    assert 0 < result['self_check_ms'] < 60_000
    assert result['command'].endswith(' '.join(argv))
    capsys.readouterr()
    tool.main(['--markdown', str(out)])
    table = capsys.readouterr().out
    assert '| portable / conv2d |' in table
    assert table.count('| 4->6 @ 8x8 |') == 4


def test_default_batches_include_video_inference(tool):
    assert tool.parse_args([]).batch.split(',') == ['1', '8', '32']


def test_unknown_case_is_refused(tool, monkeypatch):
    monkeypatch.setenv('MALLOC_MMAP_THRESHOLD_', '131072')
    with pytest.raises(SystemExit, match='unknown'):
        tool.main(['--cases', 'backward', '--shapes', '8:4:4'])


def test_thread_clock_needs_one_thread(tool, tmp_path, monkeypatch):
    monkeypatch.setenv('MALLOC_MMAP_THRESHOLD_', '131072')
    threads = torch.get_num_threads()
    try:
        if threads > 1:
            with pytest.raises(SystemExit, match='--threads 1'):
                tool.main(['--clock', 'thread', '--shapes', '8:4:4'])
        argv = ['--threads', '1', '--clock', 'thread', '--batch', '1']
        argv += ['--shapes', '8:4:4', '--cases', 'forward', '--repeats', '1']
        argv += ['--min-repeats', '1', '--out', str(tmp_path / 'b.json')]
        result = tool.main(argv)
    finally:
        torch.set_num_threads(threads)
    assert result['clock'] == 'thread' and result['threads'] == 1
    assert result['rows'][0]['geoconv_s'] > 0
