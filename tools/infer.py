"""Per-face AU predictions for images, image folders, videos, folders and
lists of videos, and webcams.

One input, one CSV (``--out``): one row per (frame, face) with OpenFace-style
columns (frame, face_id, timestamp, confidence, success, status, reason,
pose_Tx..pose_Rz, AUxx_r intensity for a model with an intensity head,
AUxx_c presence, AUxx_p probability), written row by row, so an interrupted
run keeps its rows; optionally an annotated video / image folder
(``--show-out``) and a plot of the AUs over time (``--plot-out``).

The network is the config's model in PyTorch (``--config``,
``--checkpoint``), or a model exported by
``tools/deployment/pytorch2onnx.py`` in onnxruntime (``--backend
onnxruntime --model model.onnx``, no config or checkpoint: the file carries
its metadata); faces, meshes and geodesic weights are the same for both.

Many inputs (``--out-dir``): each video, and each folder's images, gets its
own CSV in the output folder; ``summary.csv`` gives every input's status,
frames, faces and time. A rerun skips the inputs already finished;
``--shard i/N`` runs every N-th input of a cluster array job;
``--workers N`` reads N inputs at once in worker processes. The exit status
is 1 when an input failed.

Examples:
    python tools/infer.py face.mp4 --config configs/geocnn_bp4d_fold1.py \
        --checkpoint work_dirs/geocnn_bp4d_fold1/epoch_14.pth --out preds.csv \
        --show-out annotated.mp4 --plot-out aus.png
    python tools/infer.py videos/ --recursive --out-dir aus/ --workers 2 \
        --config configs/geocnn_bp4d_fold1.py --checkpoint epoch_14.pth
    python tools/infer.py face.mp4 --backend onnxruntime --model geocnn.onnx \
        --out preds.csv
"""

import argparse
import math


def _number(kind, low, strict):
    """An argparse type: a finite ``kind`` above (or at) ``low``."""
    sign = '>' if strict else '>='

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (
            value is None
            or not math.isfinite(value)
            or value < low
            or (strict and value == low)
        ):
            what = 'an integer' if kind is int else 'a number'
            raise argparse.ArgumentTypeError(
                f'must be {what} {sign} {low}, got {text!r}'
            )
        return value

    return parse


#: How the first line counts each kind of input.
KIND_NAMES = dict(
    video='videos',
    images='image sequences',
    webcam='webcams',
    missing='missing',
)
POSITIVE_INT = _number(int, 1, False)
NON_NEGATIVE_INT = _number(int, 0, False)
POSITIVE_FLOAT = _number(float, 0.0, True)


#: Options of the pytorch backend only, as (attribute, option).
TORCH_ONLY = (
    ('config', '--config'),
    ('checkpoint', '--checkpoint'),
    ('non_strict', '--non-strict'),
    ('compile', '--compile'),
)


def parse_args(argv=None):
    from geoconv_mm.apis import NETWORK_BACKENDS
    from geoconv_mm.apis.inference_workers import NETWORK_MODES
    from geoconv_mm.face.schedule import DEFAULT_DETECT_EVERY
    from geoconv_mm.utils.shards import parse_shard

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'inputs',
        nargs='+',
        metavar='input',
        help='video, image, image folder, folder of videos, list file '
        '(.txt, one path per line) or webcam index',
    )
    parser.add_argument(
        '--config', help="pytorch: the model's training config"
    )
    parser.add_argument('--checkpoint', help='pytorch: trained weights (.pth)')
    parser.add_argument(
        '--backend',
        choices=sorted(NETWORK_BACKENDS.module_dict),
        default='pytorch',
        help='what runs the network: pytorch (--config, --checkpoint) or '
        'onnxruntime (--model)',
    )
    parser.add_argument(
        '--model',
        help='onnxruntime: the model exported by '
        'tools/deployment/pytorch2onnx.py (.onnx; no config needed)',
    )
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument('--out', help='output CSV (one input)')
    out.add_argument(
        '--out-dir',
        help='output folder: one CSV per input and summary.csv; a rerun '
        'skips the inputs already finished',
    )
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load a checkpoint that does not fit the model (the fitting '
        'part; the rest stays at its initialisation) instead of failing',
    )
    parser.add_argument(
        '--device',
        default=None,
        help="'cpu', 'cuda', 'cuda:1' (default: CUDA when available)",
    )
    parser.add_argument(
        '--batch-size',
        type=POSITIVE_INT,
        default=16,
        help='faces per forward pass',
    )
    parser.add_argument(
        '--max-faces',
        type=POSITIVE_INT,
        default=None,
        help='faces per frame, largest first (default: all)',
    )
    parser.add_argument(
        '--detect-every',
        type=POSITIVE_INT,
        default=DEFAULT_DETECT_EVERY,
        help='video/webcam: full face detection every N frames (and when a '
        'face is lost); faces are tracked in between, so a face entering '
        'the picture is found at the next key frame. Images always get '
        'the full detection; 1 detects on every frame',
    )
    parser.add_argument(
        '--fps',
        type=POSITIVE_FLOAT,
        default=30.0,
        help='frame rate assumed for image sequences (timestamps)',
    )
    parser.add_argument(
        '--max-frames',
        type=POSITIVE_INT,
        default=None,
        help='stop each input after N frames (required for a webcam)',
    )
    parser.add_argument(
        '--recursive',
        action='store_true',
        help='folders: also read their subfolders (each subfolder of '
        'images is one sequence)',
    )
    parser.add_argument(
        '--shard',
        type=parse_shard,
        default=None,
        metavar='i/N',
        help='--out-dir: run shard i of N (1 <= i <= N): every N-th input '
        'in the order of their names, e.g. $SLURM_ARRAY_TASK_ID/N',
    )
    parser.add_argument(
        '--workers',
        type=NON_NEGATIVE_INT,
        default=0,
        help='--out-dir: worker processes reading inputs at once (0: read '
        'them one by one in this process)',
    )
    parser.add_argument(
        '--network',
        choices=NETWORK_MODES,
        default=None,
        help='with --workers: one network in this process fed by the '
        "workers' face front-ends (shared; the default on a GPU), or a "
        'network in every worker (replicated; the default on a CPU)',
    )
    parser.add_argument(
        '--threads',
        type=POSITIVE_INT,
        default=None,
        help="threads of the network (torch's, or onnxruntime's intra-op "
        'threads; default: one per core, shared out among replicated '
        'workers)',
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the network (slow first batches)',
    )
    parser.add_argument(
        '--show-out',
        default=None,
        help='--out: annotated output, a .mp4/.avi video or a folder of '
        'images',
    )
    parser.add_argument(
        '--plot-out',
        default=None,
        help='--out: PNG of AU probabilities (and intensities) over time',
    )
    parser.add_argument(
        '--verbose',
        action='store_true',
        help="show the libraries' own start-up messages (MediaPipe, "
        'TensorFlow Lite, MMEngine)',
    )
    args = parser.parse_args(argv)
    if args.backend == 'pytorch':
        for name in ('config', 'checkpoint'):
            if not getattr(args, name):
                parser.error(f'the pytorch backend needs --{name}')
        if args.model:
            parser.error(
                '--model is for --backend onnxruntime; the pytorch backend '
                'reads --config and --checkpoint'
            )
    else:
        if not args.model:
            parser.error(f'--backend {args.backend} needs --model')
        for name, option in TORCH_ONLY:
            if getattr(args, name):
                parser.error(
                    f'{option} is for the pytorch backend; an exported '
                    'model carries its own metadata'
                )
    webcams = [p for p in args.inputs if p.isdigit()]
    if webcams and args.max_frames is None:
        parser.error('a webcam input needs --max-frames')
    if args.out:
        if len(args.inputs) != 1:
            parser.error(
                f'--out takes one input, got {len(args.inputs)}; use '
                '--out-dir for several'
            )
        for name in ('shard', 'recursive'):
            if getattr(args, name):
                parser.error(f'--{name} needs --out-dir')
        if args.workers:
            parser.error('--workers needs --out-dir')
    else:
        for name in ('show_out', 'plot_out'):
            if getattr(args, name):
                parser.error(
                    f'--{name.replace("_", "-")} needs --out (one input)'
                )
    if args.network and not args.workers:
        parser.error('--network needs --workers')
    return args


def _frames(args):
    """The one input's frames, checked up front: an input that cannot be
    opened at all raises naming the file."""
    from geoconv_mm.apis import FrameSource
    from geoconv_mm.utils.frame_io import open_video, read_image

    frames = FrameSource(
        args.inputs[0],
        fps=args.fps,
        max_frames=args.max_frames,
        keep_errors=True,
    )
    if frames.kind == 'video':
        open_video(frames.items).release()
    elif frames.kind == 'images' and len(frames.items) == 1:
        read_image(frames.items[0])
    return frames


def _network_options(args, threads=None):
    """The backend's own options."""
    options = dict(threads=threads if threads is not None else args.threads)
    if args.backend == 'pytorch':
        options['compile'] = args.compile
    return options


def _network_sources(args, cfg=None):
    """Where the backend's network comes from: the config and checkpoint
    (pytorch) or the exported model (onnxruntime)."""
    if args.backend == 'pytorch':
        return dict(
            config=cfg if cfg is not None else args.config,
            checkpoint=args.checkpoint,
            strict=not args.non_strict,
        )
    return dict(model=args.model)


def _inferencer(args, threads=None):
    from geoconv_mm.apis import AUInferencer

    return AUInferencer(
        device=args.device,
        batch_size=args.batch_size,
        max_faces=args.max_faces,
        detect_every=args.detect_every,
        backend=args.backend,
        network=_network_options(args, threads),
        **_network_sources(args),
    )


def _model_line(args, inferencer):
    source = (
        f'{args.config} with {args.checkpoint}'
        if args.backend == 'pytorch'
        else f'{args.model} (onnxruntime)'
    )
    outputs = [
        name
        for name, given in (
            ('occurrence', inferencer.predicts_occurrence),
            ('intensity', inferencer.predicts_intensity),
        )
        if given
    ]
    names = inferencer.au_names
    return (
        f'model: {source} ({len(names)} AUs: {" ".join(names)}; '
        f'{" and ".join(outputs)}), device {inferencer.device}'
    )


def main(argv=None):
    args = parse_args(argv)
    from geoconv_mm.apis.console import QuietConsole

    with QuietConsole(verbose=args.verbose) as console:
        import logging

        from tqdm.contrib.logging import logging_redirect_tqdm

        logging.basicConfig(format='%(levelname)s: %(message)s')
        # Log lines print above the progress bars, not through them.
        try:
            with logging_redirect_tqdm():
                if args.out:
                    return _one_input(args, console)
                return _many_inputs(args, console)
        except KeyboardInterrupt:
            where = args.out or args.out_dir
            print(
                f'interrupted: the rows so far are in {where}'
                + (
                    '; rerun the same command to resume'
                    if args.out_dir
                    else ''
                )
            )
            return 130


def _one_input(args, console):
    try:
        frames = _frames(args)
    except (OSError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')

    from tqdm import tqdm

    from geoconv_mm.apis import AUCsvWriter
    from geoconv_mm.apis.inference_run import by_frame
    from geoconv_mm.visualization import AnnotatedFrameWriter, draw_au_faces

    try:
        with console.loading():
            inferencer = _inferencer(args)
    except (OSError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    print(_model_line(args, inferencer))
    writer = (
        AnnotatedFrameWriter(args.show_out, fps=args.fps)
        if args.show_out
        else None
    )
    images = {}

    def remember(stream):
        # Annotation needs the original frame until its (batched) prediction is
        # ready.
        for frame in stream:
            if writer is not None:
                images[frame.index] = frame.image
            yield frame

    # Per frame (for the plot only): its timestamp, its largest face, and
    # every face's prediction.
    timeline, face_aus = [], []
    counts = dict(frames=0, faces=0, empty=0, unreadable=0)
    stream = inferencer.iter_predictions(
        remember(frames), sequence=frames.kind in ('video', 'webcam')
    )
    try:
        with AUCsvWriter(
            args.out, inferencer.au_names, inferencer.column_groups
        ) as table:
            for group in by_frame(
                tqdm(stream, unit='face', desc='AU inference')
            ):
                for pred in group:
                    table.write(pred)
                first = group[0]
                counts['frames'] += 1
                counts['faces'] += sum(p.success for p in group)
                counts['empty'] += not first.success
                counts['unreadable'] += first.status == 'unreadable'
                if args.plot_out:
                    timeline.append(first)
                    face_aus.append({p.face_id: p for p in group if p.success})
                image = images.pop(first.frame, None)
                if writer is not None and image is not None:
                    writer.write(
                        first.frame,
                        draw_au_faces(
                            image,
                            group,
                            inferencer.au_names,
                            inferencer.threshold,
                        ),
                    )
    except (OSError, ValueError) as exc:
        # A video that stops decoding: the rows so far are in the CSV.
        raise SystemExit(
            f'error: {exc} ({counts["frames"]} frames -> {args.out})'
        )
    finally:
        if writer is not None:
            writer.close()
    print(
        f"{counts['frames']} frames, {counts['faces']} faces, "
        f"{counts['empty']} frames without a face "
        f"({counts['unreadable']} unreadable) -> {args.out}"
    )
    if args.plot_out:
        _plot(args.plot_out, inferencer, timeline, face_aus)
        print(f'plot -> {args.plot_out}')
    return 0


def _plot(path, inferencer, timeline, face_aus):
    """The AUs over time: one panel per face id when the input had several,
    else the largest face of each frame, with its probabilities and, for a
    model with an intensity head, its intensities."""
    import numpy as np

    from geoconv_mm.apis.au_prediction import OUTPUT_FIELDS
    from geoconv_mm.visualization import (
        plot_au_timeline,
        plot_au_timeline_faces,
    )

    given = dict(
        occurrence=inferencer.predicts_occurrence,
        intensity=inferencer.predicts_intensity,
    )
    fields = {o: OUTPUT_FIELDS[o] for o in given if given[o]}
    nan = np.full(len(inferencer.au_names), np.nan)
    times = [p.timestamp for p in timeline]
    ids = sorted({i for faces in face_aus for i in faces})
    if len(ids) > 1:
        curves = {
            output: {
                i: np.stack(
                    [
                        getattr(faces[i], field) if i in faces else nan
                        for faces in face_aus
                    ]
                )
                for i in ids
            }
            for output, field in fields.items()
        }
        plot_au_timeline_faces(
            path,
            times,
            curves.get('occurrence'),
            inferencer.au_names,
            inferencer.threshold,
            face_intensities=curves.get('intensity'),
        )
        return
    curves = {
        output: np.stack(
            [getattr(p, field) if p.success else nan for p in timeline]
        )
        for output, field in fields.items()
    }
    plot_au_timeline(
        path,
        times,
        curves.get('occurrence'),
        [p.success for p in timeline],
        inferencer.au_names,
        inferencer.threshold,
        intensities=curves.get('intensity'),
    )


def _many_inputs(args, console):
    from geoconv_mm.apis.inference_inputs import find_inputs, shard_inputs
    from geoconv_mm.apis.inference_run import RunRecorder, run_in_process
    from geoconv_mm.apis.inference_workers import WorkerStartError

    try:
        inputs = find_inputs(args.inputs, recursive=args.recursive)
    except (OSError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    total = len(inputs)
    if args.shard:
        inputs = shard_inputs(inputs, *args.shard)
    kinds = {}
    for inp in inputs:
        kinds[inp.kind] = kinds.get(inp.kind, 0) + 1
    shard = (
        f' (shard {args.shard[0]}/{args.shard[1]} of {total})'
        if args.shard
        else ''
    )
    print(
        f'{len(inputs)} inputs{shard}: '
        + ', '.join(f'{n} {KIND_NAMES[k]}' for k, n in sorted(kinds.items()))
        + f' -> {args.out_dir}'
    )
    recorder = RunRecorder(
        inputs, args.out_dir, shard=args.shard, progress=True
    )
    skipped = len(inputs) - len(recorder.todo)
    if skipped:
        print(f'{skipped} inputs complete from an earlier run: skipped')
    try:
        if not recorder.todo:
            pass
        elif not args.workers:
            try:
                with console.loading():
                    inferencer = _inferencer(args)
            except (OSError, ValueError) as exc:
                raise SystemExit(f'error: {exc}')
            print(_model_line(args, inferencer))
            run_in_process(inferencer, recorder, args.fps, args.max_frames)
        else:
            with console.loading():
                pool, names, groups, what = _pool(args)
            recorder.au_names, recorder.column_groups = names, groups
            print(what)
            try:
                pool.run(recorder)
            except WorkerStartError as exc:
                raise SystemExit(f'error: {exc}')
    finally:
        recorder.close()
    rows = recorder.rows
    counts = {
        s: sum(r['status'] == s for r in rows)
        for s in set(r['status'] for r in rows)
    }
    print(
        ', '.join(f'{n} {s}' for s, n in sorted(counts.items()))
        + f' -> {recorder.path}'
    )
    return 1 if recorder.failed else 0


def _device(args):
    """The network's device: ``--device``, else the backend's default (CUDA
    when it can run there)."""
    if args.backend == 'onnxruntime':
        from geoconv_mm.apis.au_onnx_network import onnx_providers

        return str(onnx_providers(args.device)[0])
    import torch

    return args.device or ('cuda' if torch.cuda.is_available() else 'cpu')


def _pool(args):
    """The worker pool of ``--workers``, the CSVs' AU names and column
    groups (None, None: the workers tell) and a line that says what runs
    where: the network shared in this process (front-ends in the workers),
    or replicated in every worker."""
    import torch

    from geoconv_mm.apis import au_column_groups
    from geoconv_mm.apis.au_front_end import face_pipeline_config
    from geoconv_mm.apis.au_inferencer import load_config, network_au_ids
    from geoconv_mm.apis.au_network import NETWORK_BACKENDS
    from geoconv_mm.apis.inference_workers import (
        WorkerPool,
        WorkerSpec,
        default_threads,
    )

    try:
        cfg = load_config(args.config) if args.config else None
        device = _device(args)
    except (OSError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    mode = args.network or (
        'replicated' if device.startswith('cpu') else 'shared'
    )
    if mode == 'replicated':
        threads = args.threads or default_threads(args.workers)
        spec = WorkerSpec(
            'replicated',
            dict(
                _network_sources(args, cfg),
                max_faces=args.max_faces,
                detect_every=args.detect_every,
                device=device,
                batch_size=args.batch_size,
                backend=args.backend,
                network=_network_options(args, threads),
            ),
            threads,
            args.fps,
            args.max_frames,
            args.verbose,
        )
        what = (
            f'{args.workers} workers, each with its own network on '
            f'{threads} threads, device {device}'
        )
        pool = WorkerPool(spec, args.workers, batch_size=args.batch_size)
        return pool, None, None, what
    try:
        network = NETWORK_BACKENDS.build(
            dict(
                _network_options(args),
                **_network_sources(args, cfg),
                type=args.backend,
                device=device,
            )
        )
        au_ids = network_au_ids(network, cfg)
    except (OSError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')
    face_cfg = face_pipeline_config(
        network.input_size, max_faces=args.max_faces
    )
    spec = WorkerSpec.shared(
        network,
        face_cfg,
        dict(detect_every=args.detect_every),
        threads=1,
        fps=args.fps,
        max_frames=args.max_frames,
        verbose=args.verbose,
    )
    threads = (
        f'{torch.get_num_threads()} threads'
        if args.backend == 'pytorch'
        else f'{args.backend}, {args.threads or "default"} threads'
    )
    what = (
        f'{args.workers} workers reading faces for one network on '
        f'{device} ({threads})'
    )
    pool = WorkerPool(spec, args.workers, network, args.batch_size)
    groups = au_column_groups(
        network.predicts_occurrence, network.predicts_intensity
    )
    return pool, [f'AU{a:02d}' for a in au_ids], groups, what


if __name__ == '__main__':
    raise SystemExit(main())
