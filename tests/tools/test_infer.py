"""tools/infer.py as a user runs it (in a subprocess): many inputs into an
output folder, resume, shards, workers, strict checkpoints, bad numbers,
a console that shows our lines only, and the demo models exported to ONNX
in onnxruntime writing the CSVs of PyTorch (intensities included)."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip('mediapipe')
pytest.importorskip('skimage.data')

from tests.fixtures.au_model import save_tiny_au_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'configs' / 'geocnn_synthau_demo.py'
CHATTER = (
    'W0000',
    'INFO: Created TensorFlow',
    'absl::',
    'FileClient',
    'Failed to search registry',
    'Loads checkpoint',
)


def run(args, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    cmd = [sys.executable, str(ROOT / 'tools' / 'infer.py'), *map(str, args)]
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout
    )


def read(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    config, checkpoint = save_tiny_au_model(tmp_path_factory.mktemp('m'))
    return ['--config', config, '--checkpoint', checkpoint, '--device', 'cpu']


@pytest.fixture(scope='module')
def videos(tmp_path_factory, astronaut_bgr):
    """Three short clips of a moving face, and a broken one."""
    root = tmp_path_factory.mktemp('videos')
    face = cv2.resize(astronaut_bgr, (256, 256))
    for k, frames in enumerate((3, 4, 2)):
        writer = cv2.VideoWriter(
            str(root / f'clip{k}.avi'),
            cv2.VideoWriter_fourcc(*'MJPG'),
            25.0,
            (256, 256),
        )
        for i in range(frames):
            writer.write(np.roll(face, 4 * i + k, axis=1))
        writer.release()
    (root / 'broken.avi').write_bytes(b'not a video at all' * 40)
    return root


def test_a_folder_of_videos_resume_and_shards(model, videos, tmp_path):
    out = tmp_path / 'out'
    res = run([videos, *model, '--out-dir', out])
    assert res.returncode == 1, res.stderr  # broken.avi failed
    summary = {r['csv']: r for r in read(out / 'summary.csv')}
    assert {k: r['status'] for k, r in summary.items()} == {
        'broken.csv': 'failed',
        'clip0.csv': 'done',
        'clip1.csv': 'done',
        'clip2.csv': 'done',
    }
    assert 'broken.avi' in summary['broken.csv']['reason']
    for k, frames in enumerate((3, 4, 2)):
        rows = read(out / f'clip{k}.csv')
        assert [int(r['frame']) for r in rows] == list(range(frames))
        assert summary[f'clip{k}.csv']['frames'] == str(frames)
    # The same video alone into --out gives the same rows.
    single = tmp_path / 'single.csv'
    assert run([videos / 'clip1.avi', *model, '--out', single]).returncode == 0
    assert single.read_text() == (out / 'clip1.csv').read_text()
    # A rerun skips what is finished and retries the broken video only.
    before = {p.name: p.stat().st_mtime_ns for p in out.glob('clip*.csv')}
    res = run([videos, *model, '--out-dir', out])
    assert res.returncode == 1
    assert 'skipped' in res.stdout
    statuses = [r['status'] for r in read(out / 'summary.csv')]
    assert statuses == ['failed', 'skipped', 'skipped', 'skipped']
    assert before == {
        p.name: p.stat().st_mtime_ns for p in out.glob('clip*.csv')
    }
    # Two shards of an array job write their own summaries and share the
    # inputs out between them.
    sharded = tmp_path / 'sharded'
    for i in (1, 2):
        run([videos, *model, '--out-dir', sharded, '--shard', f'{i}/2'])
    one = read(sharded / 'summary.shard-1-of-2.csv')
    two = read(sharded / 'summary.shard-2-of-2.csv')
    assert sorted(r['csv'] for r in one + two) == sorted(summary)
    assert {r['csv'] for r in one}.isdisjoint({r['csv'] for r in two})


@pytest.mark.parametrize('network', ['shared', 'replicated'])
def test_workers_give_the_rows_of_one_process(
    model, videos, tmp_path, network
):
    ref, out = tmp_path / 'ref', tmp_path / 'out'
    run([videos, *model, '--out-dir', ref])
    res = run(
        [
            videos,
            *model,
            '--out-dir',
            out,
            '--workers',
            2,
            '--network',
            network,
        ]
    )
    assert res.returncode == 1, res.stderr
    assert read(out / 'summary.csv')[0]['status'] == 'failed'
    for k in range(3):
        a, b = read(ref / f'clip{k}.csv'), read(out / f'clip{k}.csv')
        assert len(a) == len(b)
        for ra, rb in zip(a, b):
            for key, value in ra.items():
                if key.endswith('_p'):
                    assert abs(float(value) - float(rb[key])) < 1e-3
                else:
                    assert value == rb[key], key


def test_a_worker_that_cannot_start_is_one_line(videos, tmp_path):
    config, _ = save_tiny_au_model(tmp_path)
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint')
    res = run(
        [
            videos,
            '--config',
            config,
            '--checkpoint',
            bad,
            '--out-dir',
            tmp_path / 'out',
            '--workers',
            2,
            '--network',
            'replicated',
        ],
        timeout=300,
    )
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith('error:')]
    assert len(errors) == 1 and 'could not start' in errors[0], res.stderr


def test_a_checkpoint_of_another_model_is_refused(tmp_path, astronaut_bgr):
    torchvision = pytest.importorskip('torchvision')
    import torch

    resnet = tmp_path / 'resnet18.pth'
    torch.save(torchvision.models.resnet18().state_dict(), resnet)
    image = tmp_path / 'face.png'
    cv2.imwrite(str(image), astronaut_bgr)
    args = [
        image,
        '--config',
        DEMO,
        '--checkpoint',
        resnet,
        '--device',
        'cpu',
        '--out',
        tmp_path / 'p.csv',
    ]
    res = run(args)
    assert res.returncode != 0
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith('error: ') and 'resnet18.pth' in line
    assert 'does not match the model' in line and 'fc.weight' in line
    assert not (tmp_path / 'p.csv').exists()
    # --non-strict loads what fits (nothing here) and runs.
    res = run(args + ['--non-strict'])
    assert res.returncode == 0, res.stderr
    assert len(read(tmp_path / 'p.csv')) == 1


@pytest.mark.parametrize(
    'flag, value',
    [
        ('--fps', '0'),
        ('--fps', '-5'),
        ('--fps', 'nan'),
        ('--fps', 'inf'),
        ('--batch-size', '0'),
        ('--max-frames', '0'),
        ('--max-faces', '-1'),
        ('--detect-every', '0'),
        ('--workers', '-1'),
        ('--threads', '0'),
        ('--batch-size', '2.5'),
        ('--shard', '3/2'),
        ('--shard', 'two'),
    ],
)
def test_bad_numbers_are_clear_errors(flag, value, capsys):
    from tools.infer import parse_args

    argv = ['clip.avi', '--config', 'c.py', '--checkpoint', 'w.pth']
    argv += ['--out-dir', 'o', flag, value]
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and value in err


def test_argument_combinations(capsys):
    from tools.infer import parse_args

    base = ['--config', 'c.py', '--checkpoint', 'w.pth']
    args = parse_args(['a.mp4', *base, '--out-dir', 'o', '--fps', '12.5'])
    assert args.fps == 12.5 and args.shard is None
    assert parse_args(
        ['a', *base, '--out-dir', 'o', '--shard', '2/5']
    ).shard == (2, 5)
    for bad in (
        ['a.mp4', 'b.mp4', *base, '--out', 'x.csv'],
        ['a.mp4', *base, '--out', 'x.csv', '--workers', '2'],
        ['a.mp4', *base, '--out-dir', 'o', '--plot-out', 'p.png'],
        ['a.mp4', *base, '--out-dir', 'o', '--network', 'shared'],
        ['0', *base, '--out-dir', 'o'],
    ):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_the_console_shows_our_lines_only(model, astronaut_bgr, tmp_path):
    image = tmp_path / 'face.png'
    cv2.imwrite(str(image), astronaut_bgr)
    res = run([image, *model, '--out', tmp_path / 'p.csv'])
    assert res.returncode == 0, res.stderr
    text = res.stdout + res.stderr
    assert not [c for c in CHATTER if c in text], text
    assert res.stdout.splitlines()[0].startswith('model: ')
    loud = run([image, *model, '--out', tmp_path / 'q.csv', '--verbose'])
    assert loud.returncode == 0
    assert 'Loads checkpoint' in loud.stdout
    assert 'W0000' in loud.stderr or 'INFO: Created' in loud.stderr
    # The registries are found from MMEngine's default scope: no fallback
    # warning even when verbose.
    assert 'Failed to search registry' not in loud.stdout + loud.stderr


# One unit of the CSV's last digit (4 decimals): the backends' outputs
# differ by float rounding (1e-5 at most, tests/apis/test_au_onnx_network.py)
# and may round to neighbouring 4-decimal values.
CSV_TOLERANCE = 1e-4 + 1e-9


@pytest.fixture(scope='module')
def backends(tmp_path_factory):
    """``backends(kind)``: the demo model (``occurrence`` only, or the
    ``joint`` occurrence + intensity one) with spread random weights: its
    PyTorch arguments, and those of the same network exported to ONNX
    (made once per kind)."""
    pytest.importorskip('onnxruntime')
    pytest.importorskip('onnx')
    from tests.fixtures.demo_models import (
        DEMO,
        JOINT_DEMO,
        export_demo_model,
        save_demo_model,
    )

    made = {}

    def get(kind):
        if kind not in made:
            config = {'occurrence': DEMO, 'joint': JOINT_DEMO}[kind]
            root = tmp_path_factory.mktemp(kind)
            config, checkpoint = save_demo_model(config, root)
            onnx = str(root / 'demo.onnx')
            export_demo_model(config, checkpoint, onnx)
            made[kind] = (
                ['--config', config, '--checkpoint', checkpoint],
                ['--backend', 'onnxruntime', '--model', onnx],
            )
        return made[kind]

    return get


@pytest.fixture(scope='module')
def mixed_inputs(tmp_path_factory, astronaut_bgr):
    """A short video of a moving face with a frame without one, and a
    folder of images (a face, a blank, the mirrored face)."""
    root = tmp_path_factory.mktemp('mixed')
    face = cv2.resize(astronaut_bgr, (320, 320))
    writer = cv2.VideoWriter(
        str(root / 'clip.avi'),
        cv2.VideoWriter_fourcc(*'MJPG'),
        25.0,
        (320, 320),
    )
    for i in range(4):
        writer.write(
            np.full_like(face, 90) if i == 2 else np.roll(face, 5 * i)
        )
    writer.release()
    folder = root / 'stills'
    folder.mkdir()
    for i, img in enumerate(
        (face, np.full_like(face, 90), np.ascontiguousarray(face[:, ::-1]))
    ):
        cv2.imwrite(str(folder / f'{i}.png'), img)
    return root


def assert_same_rows(a, b):
    """The rows of two CSVs agree: every cell equal, AU probabilities and
    intensities within CSV_TOLERANCE (a presence may differ only where
    the probability sits at the threshold)."""
    assert list(a[0]) == list(b[0]) and len(a) == len(b)
    for ra, rb in zip(a, b):
        for key, value in ra.items():
            if value and key.endswith(('_p', '_r')):
                assert abs(float(value) - float(rb[key])) <= CSV_TOLERANCE
            elif value and key.endswith('_c') and value != rb[key]:
                p = float(ra[key[:-2] + '_p'])
                assert abs(p - 0.5) <= CSV_TOLERANCE, key
            else:
                assert value == rb[key], key


@pytest.mark.parametrize('kind', ['occurrence', 'joint'])
def test_onnxruntime_writes_the_csvs_of_pytorch(
    backends, kind, mixed_inputs, tmp_path
):
    from mmengine.config import Config

    from geoconv_mm.apis import au_column_groups, au_csv_columns

    torch_args, onnx_args = backends(kind)
    outs = {}
    for name, args in (('pytorch', torch_args), ('onnxruntime', onnx_args)):
        outs[name] = tmp_path / name
        res = run(
            [
                mixed_inputs / 'clip.avi',
                mixed_inputs / 'stills',
                *args,
                '--device',
                'cpu',
                '--out-dir',
                outs[name],
            ]
        )
        assert res.returncode == 0, res.stderr
    au_ids = Config.fromfile(str(DEMO)).test_dataloader.dataset.au_ids
    names = [f'AU{a:02d}' for a in au_ids]
    groups = au_column_groups(True, kind == 'joint')
    for csv_name, statuses in (
        ('clip.csv', ['ok', 'ok', 'no_face', 'ok']),
        ('stills.csv', ['ok', 'no_face', 'ok']),
    ):
        want = read(outs['pytorch'] / csv_name)
        got = read(outs['onnxruntime'] / csv_name)
        assert [r['status'] for r in got] == statuses
        assert list(got[0]) == au_csv_columns(names, groups)
        assert_same_rows(want, got)
        if kind == 'joint':
            levels = [
                float(r[f'{n}_r'])
                for r in got
                if r['success'] == '1'
                for n in names
            ]
            assert min(levels) >= 0 and max(levels) <= 5
            assert max(levels) - min(levels) > 1
        else:
            assert not [c for c in got[0] if c.endswith('_r')]


def test_onnxruntime_workers_and_pictures(backends, mixed_inputs, tmp_path):
    """The exported joint model in shared and replicated workers gives the
    rows of one process; one input's plot and annotated frames."""
    _, onnx_args = backends('joint')
    ref = tmp_path / 'ref'
    clip = mixed_inputs / 'clip.avi'
    assert run([clip, *onnx_args, '--out-dir', ref]).returncode == 0
    for network in ('shared', 'replicated'):
        out = tmp_path / network
        res = run(
            [clip, *onnx_args, '--out-dir', out, '--workers', 1]
            + ['--network', network]
        )
        assert res.returncode == 0, res.stderr
        assert_same_rows(read(ref / 'clip.csv'), read(out / 'clip.csv'))
    plot, shown = tmp_path / 'aus.png', tmp_path / 'shown'
    res = run(
        [clip, *onnx_args, '--out', tmp_path / 'one.csv']
        + ['--plot-out', plot, '--show-out', shown]
    )
    assert res.returncode == 0, res.stderr
    assert 'occurrence and intensity' in res.stdout.splitlines()[0]
    image = cv2.imread(str(plot))
    assert image is not None and image.shape[1] > image.shape[0]
    assert len(list(shown.glob('*.jpg'))) == 4


@pytest.mark.parametrize(
    'argv, message',
    [
        (['--backend', 'onnxruntime'], 'needs --model'),
        (['--model', 'm.onnx'], 'needs --config'),
        (['--config', 'c.py', '--model', 'm.onnx'], 'needs --checkpoint'),
        (
            ['--config', 'c.py', '--checkpoint', 'w.pth', '--model', 'm'],
            '--model is for --backend onnxruntime',
        ),
        (
            ['--backend', 'onnxruntime', '--model', 'm', '--config', 'c.py'],
            '--config is for the pytorch backend',
        ),
        (
            ['--backend', 'onnxruntime', '--model', 'm', '--compile'],
            '--compile is for the pytorch backend',
        ),
        (
            ['--backend', 'onnxruntime', '--model', 'm', '--non-strict'],
            '--non-strict is for the pytorch backend',
        ),
    ],
)
def test_each_backend_takes_its_own_sources(argv, message, capsys):
    from tools.infer import parse_args

    with pytest.raises(SystemExit) as exc:
        parse_args(['a.mp4', '--out', 'x.csv', *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    args = parse_args(
        ['a.mp4', '--out', 'x.csv', '--backend', 'onnxruntime']
        + ['--model', 'm.onnx', '--threads', '2']
    )
    assert (args.backend, args.model, args.config) == (
        'onnxruntime',
        'm.onnx',
        None,
    )
