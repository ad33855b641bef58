"""AU inference at a lab's scale: videos/hour and frames/s of
``tools/infer.py --out-dir`` against ``--workers``, and memory against
video length on a long video.

Runs the tool as a user does (a subprocess per setting, start-up
included) on generated one-face videos: skimage's astronaut drifting and
zooming slightly on a 640 x 480 frame, so that key frames, tracking and
the network all run as on a lab's recording.

1. **Throughput.** ``--videos`` videos of ``--frames`` frames each, run
   once per setting of ``--workers`` (0: one process) and ``--network``
   (shared / replicated, for workers > 0), the settings alternated over
   ``--rounds``. Reported: wall seconds, videos/hour and frames/s, the
   start-up share (first CSV row after how many seconds) and the peak
   resident memory of the process tree.
2. **Memory against video length** (``--long-frames N``): one video of N
   frames through one process; the tree's resident memory is sampled
   twice a second beside the number of frames written, and the growth over
   the second half of the video is fitted (MB per 1,000 frames): flat
   memory fits near zero. Samples taken after the last row (the tool
   closing its files and models) are reported apart and left out of the
   fit.

Without ``--checkpoint`` the config's model is saved with its initial
weights (speed does not depend on them). Every figure is printed with the
load average when it was taken: compare only figures of one run.

Example:
    python tools/benchmarks/benchmark_inference_scale.py \\
        configs/geocnn_synthau_demo.py --videos 4 --frames 150 \\
        --workers 0 1 2 --rounds 2 --long-frames 3000 \\
        --out work_dirs/benchmark_inference_scale.json
"""

import argparse
import csv
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FRAME_SIZE = (480, 640)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--videos', type=int, default=4)
    parser.add_argument('--frames', type=int, default=150)
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--network',
        nargs='+',
        choices=('shared', 'replicated'),
        default=['shared', 'replicated'],
        help='modes tried for workers > 0',
    )
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument(
        '--long-frames',
        type=int,
        default=0,
        help='frames of the memory run (0: no memory run)',
    )
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--work-dir', default=None, help='keep files here')
    parser.add_argument('--out', default=None, help='JSON of the figures')
    args = parser.parse_args(argv)
    if min(args.videos, args.frames, args.rounds) < 1 or min(args.workers) < 0:
        parser.error('--videos, --frames, --rounds >= 1; --workers >= 0')
    return args


def load() -> float:
    return round(os.getloadavg()[0], 2)


def write_video(path: str, frames: int, seed: int = 0) -> None:
    """A one-face video: the astronaut drifting and zooming on a grey
    frame (MJPG, 30 frames/s)."""
    import cv2

    from geoconv_mm.face.samples import astronaut_bgr

    face = cv2.resize(
        astronaut_bgr(), (300, 300), interpolation=cv2.INTER_AREA
    )
    h, w = FRAME_SIZE
    writer = cv2.VideoWriter(
        path, cv2.VideoWriter_fourcc(*'MJPG'), 30.0, (w, h)
    )
    if not writer.isOpened():
        raise RuntimeError(f'cannot write {path}')
    for i in range(frames):
        phase = 2 * np.pi * (i / 90 + seed / 7)
        scale = 1.0 + 0.08 * np.sin(phase)
        cx = w / 2 + 60 * np.sin(phase)
        cy = h / 2 + 20 * np.cos(phase)
        m = cv2.getRotationMatrix2D((150, 150), 0.0, scale)
        m[:, 2] += (cx - 150, cy - 150)
        frame = cv2.warpAffine(face, m, (w, h), borderValue=(90, 90, 90))
        writer.write(frame)
    writer.release()


def save_initial_checkpoint(config: str, path: str) -> str:
    """The config's model with its initial weights and its AU ids."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import geoconv_mm.models  # noqa: F401
    from geoconv_mm.engine import save_model_weights

    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    return save_model_weights(
        model, path, range(1, cfg.model.head.num_aus + 1)
    )


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (MB)."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f'/proc/{p}/status') as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def written_frames(out_dir: str) -> int:
    """Rows written so far over the run's CSVs (partial or final)."""
    rows = 0
    for root, _, names in os.walk(out_dir):
        for n in names:
            if n.endswith(('.csv', '.csv.partial')) and 'summary' not in n:
                with open(osp.join(root, n), 'rb') as f:
                    rows += max(0, f.read().count(b'\n') - 1)
    return rows


def run_infer(
    args, inputs: str, out_dir: str, workers: int, network: Optional[str]
) -> Dict:
    """One run of tools/infer.py; wall seconds, start-up, peak memory and
    the (frames written, MB) samples."""
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'infer.py'),
        inputs,
        '--config',
        args.config,
        '--checkpoint',
        args.checkpoint,
        '--out-dir',
        out_dir,
        '--device',
        'cpu',
        '--batch-size',
        str(args.batch_size),
    ]
    if workers:
        cmd += ['--workers', str(workers), '--network', network]
    env = dict(os.environ, PYTHONPATH=ROOT)
    avg = load()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    samples, first_row = [], None
    while proc.poll() is None:
        time.sleep(0.5)
        rows = written_frames(out_dir)
        if rows and first_row is None:
            first_row = time.perf_counter() - start
        mb = tree_rss_mb(proc.pid)
        # Not a sample of a process that has ended, or is ending: an exiting
        # process has released its memory before it can be reaped.
        if proc.poll() is None and mb > 0:
            samples.append((rows, mb))
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors='replace')
    if proc.returncode != 0:
        sys.exit(f'tools/infer.py failed ({proc.returncode}): {err[-2000:]}')
    with open(osp.join(out_dir, 'summary.csv'), newline='') as f:
        summary = list(csv.DictReader(f))
    frames = sum(int(r['frames']) for r in summary)
    return dict(
        seconds=seconds,
        frames=frames,
        first_row_s=first_row,
        peak_mb=max((mb for _, mb in samples), default=0.0),
        samples=samples,
        load=avg,
    )


def throughput(args, work: str) -> Dict:
    folder = osp.join(work, 'videos')
    os.makedirs(folder, exist_ok=True)
    for k in range(args.videos):
        write_video(osp.join(folder, f'video{k:03d}.avi'), args.frames, k)
    settings = []
    for w in sorted(set(args.workers)):
        settings += [(w, None)] if w == 0 else [(w, m) for m in args.network]
    runs = []
    for r in range(args.rounds):
        for w, mode in settings if r % 2 == 0 else settings[::-1]:
            out = osp.join(work, f'out-w{w}-{mode}-r{r}')
            res = run_infer(args, folder, out, w, mode)
            res.pop('samples')
            res.update(
                workers=w,
                network=mode,
                round=r,
                videos_per_hour=3600 * args.videos / res['seconds'],
                fps=res['frames'] / res['seconds'],
            )
            runs.append(res)
            print(
                f'workers {w} {mode or "":10s} round {r}: '
                f'{res["seconds"]:7.1f} s, {res["videos_per_hour"]:8.1f} '
                f'videos/h, {res["fps"]:6.2f} frames/s, first row after '
                f'{res["first_row_s"] or 0:.1f} s, peak {res["peak_mb"]:.0f} '
                f'MB (load {res["load"]})',
                flush=True,
            )
    medians = {}
    for w, mode in settings:
        mine = [x for x in runs if (x['workers'], x['network']) == (w, mode)]
        key = f'{w} {mode or "in-process"}'
        medians[key] = dict(
            fps=float(np.median([x['fps'] for x in mine])),
            videos_per_hour=float(
                np.median([x['videos_per_hour'] for x in mine])
            ),
        )
        print(
            f'median, workers {key}: {medians[key]["fps"]:.2f} frames/s, '
            f'{medians[key]["videos_per_hour"]:.1f} videos/h'
        )
    return dict(
        videos=args.videos, frames=args.frames, runs=runs, medians=medians
    )


def memory_growth(samples: List[tuple], frames: int) -> Dict:
    """Memory while frames stream against after the last row.

    Args:
        samples (list): (frames written, MB) pairs, in time order.
        frames (int): The video's frames.

    Returns:
        dict: ``streaming`` (the pairs with some frames written, not all),
        ``closing_peak_mb`` (the largest sample after the last row, when
        the tool closes its files and models; None without one) and, with
        two or more frame counts in the second half of the video,
        ``mb_per_1000_frames``: the slope of a line fitted to the streaming
        samples there.
    """
    streaming = [(n, mb) for n, mb in samples if 0 < n < frames]
    closing = [mb for n, mb in samples if n >= frames]
    out = dict(streaming=streaming, closing_peak_mb=max(closing, default=None))
    half = [(n, mb) for n, mb in streaming if n >= frames / 2]
    if len({n for n, _ in half}) >= 2:
        n, mb = np.array(half, np.float64).T
        out['mb_per_1000_frames'] = float(1000 * np.polyfit(n, mb, 1)[0])
    return out


def memory(args, work: str) -> Dict:
    folder = osp.join(work, 'long')
    os.makedirs(folder, exist_ok=True)
    write_video(osp.join(folder, 'long.avi'), args.long_frames)
    res = run_infer(args, folder, osp.join(work, 'out-long'), 0, None)
    # Only the streaming phase can grow with the video's length.
    growth = memory_growth(res['samples'], args.long_frames)
    streaming = growth.pop('streaming')
    print(
        f'long video, {args.long_frames} frames: peak {res["peak_mb"]:.0f} '
        f'MB in {res["seconds"]:.1f} s (load {res["load"]})'
    )
    for q in (0.1, 0.25, 0.5, 0.75):
        near = [mb for n, mb in streaming if n <= q * args.long_frames]
        if near:
            print(
                f'  after {int(q * 100):3d}% of the frames: {near[-1]:.0f} MB'
            )
    if streaming:
        low, high = min(m for _, m in streaming), max(m for _, m in streaming)
        print(f'  while frames stream: {low:.0f}-{high:.0f} MB')
    if growth['closing_peak_mb'] is not None:
        print(
            '  after the last row (closing): up to '
            f'{growth["closing_peak_mb"]:.0f} MB'
        )
    if 'mb_per_1000_frames' in growth:
        print(
            '  growth over the second half: '
            f'{growth["mb_per_1000_frames"]:+.2f} MB per 1,000 frames'
        )
    return dict(
        frames=args.long_frames,
        seconds=res['seconds'],
        peak_mb=res['peak_mb'],
        samples=res['samples'],
        load=res['load'],
        **growth,
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    # The command as given: what a reader reruns (no temporary paths).
    given = {
        k: v for k, v in vars(args).items() if k not in ('out', 'work_dir')
    }
    work = args.work_dir or tempfile.mkdtemp(prefix='au_scale_')
    os.makedirs(work, exist_ok=True)
    if args.checkpoint is None:
        args.checkpoint = save_initial_checkpoint(
            args.config, osp.join(work, 'initial.pth')
        )
    print(
        f'{args.config}: {args.videos} videos of {args.frames} frames '
        f'({FRAME_SIZE[1]} x {FRAME_SIZE[0]}), {os.cpu_count()} CPUs, '
        f'load {load()}, files in {work}',
        flush=True,
    )
    result = dict(config=args.config, throughput=throughput(args, work))
    if args.long_frames:
        result['memory'] = memory(args, work)
    if args.out:
        from geoconv_mm.utils.atomic_io import atomic_write_json

        result['args'] = given
        atomic_write_json(args.out, result, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
