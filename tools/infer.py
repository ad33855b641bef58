"""Per-face AU predictions for an image, an image folder, a video or a webcam.

Writes one CSV row per (frame, face) with OpenFace-style columns (frame,
face_id, timestamp, confidence, success, status, reason, pose_Tx..pose_Rz,
AUxx_c presence, AUxx_p probability), row by row as frames are done, so an
interrupted run keeps its rows. A frame without a face, or one that cannot
be decoded, gets one row with success 0 and the reason. Optionally writes an
annotated video / image folder (every face boxed with its id and AU
bars) and a probability plot (one panel per face id).

Example:
    python tools/infer.py face.mp4 --config configs/geocnn_bp4d_fold1.py \
        --checkpoint work_dirs/geocnn_bp4d_fold1/epoch_14.pth --out preds.csv \
        --show-out annotated.mp4 --plot-out aus.png
"""

import argparse


def parse_args(argv=None):
    from geoconv_mm.face.schedule import DEFAULT_DETECT_EVERY

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'input', help='image, image folder, video file, or webcam index'
    )
    parser.add_argument(
        '--config', required=True, help='the model\'s training config'
    )
    parser.add_argument(
        '--checkpoint', required=True, help='trained weights (.pth)'
    )
    parser.add_argument('--out', required=True, help='output CSV')
    parser.add_argument(
        '--device',
        default=None,
        help="'cpu', 'cuda', 'cuda:1' (default: CUDA when available)",
    )
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument(
        '--max-faces',
        type=int,
        default=None,
        help='faces per frame, largest first (default: all)',
    )
    parser.add_argument(
        '--detect-every',
        type=int,
        default=DEFAULT_DETECT_EVERY,
        help='video/webcam: full face detection every N frames (and when a '
        'face is lost); faces are tracked in between, so a face entering '
        'the picture is found at the next key frame. Images always get '
        'the full detection; 1 detects on every frame',
    )
    parser.add_argument(
        '--fps',
        type=float,
        default=30.0,
        help='frame rate assumed for image sequences (timestamps)',
    )
    parser.add_argument(
        '--max-frames',
        type=int,
        default=None,
        help='stop after N frames (required for a webcam)',
    )
    parser.add_argument(
        '--show-out',
        default=None,
        help='annotated output: a .mp4/.avi video or a folder of images',
    )
    parser.add_argument(
        '--plot-out', default=None, help='PNG of AU probabilities over time'
    )
    args = parser.parse_args(argv)
    if args.input.isdigit() and args.max_frames is None:
        parser.error('a webcam input needs --max-frames')
    if args.max_faces is not None and args.max_faces < 1:
        parser.error(f'--max-faces must be >= 1, got {args.max_faces}')
    if args.detect_every < 1:
        parser.error(f'--detect-every must be >= 1, got {args.detect_every}')
    return args


def _frames(args):
    """The input's frames, checked up front: an input that cannot be opened
    at all raises naming the file."""
    from geoconv_mm.apis import FrameSource
    from geoconv_mm.utils.frame_io import open_video, read_image

    frames = FrameSource(
        args.input,
        fps=args.fps,
        max_frames=args.max_frames,
        keep_errors=True,
    )
    if frames.kind == 'video':
        open_video(frames.items).release()
    elif frames.kind == 'images' and len(frames.items) == 1:
        read_image(frames.items[0])
    return frames


def _by_frame(predictions):
    """Groups consecutive predictions of the same frame."""
    group = []
    for pred in predictions:
        if group and pred.frame != group[0].frame:
            yield group
            group = []
        group.append(pred)
    if group:
        yield group


def main(argv=None):
    args = parse_args(argv)
    import logging

    logging.basicConfig(format='%(levelname)s: %(message)s')
    try:
        frames = _frames(args)
    except (OSError, ValueError) as exc:
        raise SystemExit(f'error: {exc}')

    import numpy as np
    from tqdm import tqdm

    from geoconv_mm.apis import AUCsvWriter, AUInferencer
    from geoconv_mm.visualization import (
        AnnotatedFrameWriter,
        draw_au_faces,
        plot_au_timeline,
        plot_au_timeline_faces,
    )

    inferencer = AUInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        batch_size=args.batch_size,
        max_faces=args.max_faces,
        detect_every=args.detect_every,
    )
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

    # Per frame: its timestamp, its largest face, and every face's AUs.
    timeline, face_aus = [], []
    counts = dict(frames=0, faces=0, empty=0, unreadable=0)
    stream = inferencer.iter_predictions(
        remember(frames), sequence=frames.kind in ('video', 'webcam')
    )
    try:
        with AUCsvWriter(args.out, inferencer.au_names) as table:
            for group in _by_frame(
                tqdm(stream, unit='face', desc='AU inference')
            ):
                for pred in group:
                    table.write(pred)
                first = group[0]
                counts['frames'] += 1
                counts['faces'] += sum(p.success for p in group)
                counts['empty'] += not first.success
                counts['unreadable'] += first.status == 'unreadable'
                timeline.append(first)
                face_aus.append(
                    {p.face_id: p.probabilities for p in group if p.success}
                )
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
        nan = np.full(len(inferencer.au_names), np.nan)
        ids = sorted({i for aus in face_aus for i in aus})
        if len(ids) > 1:
            plot_au_timeline_faces(
                args.plot_out,
                [p.timestamp for p in timeline],
                {
                    i: np.stack([aus.get(i, nan) for aus in face_aus])
                    for i in ids
                },
                inferencer.au_names,
                inferencer.threshold,
            )
        else:
            probs = np.stack(
                [p.probabilities if p.success else nan for p in timeline]
            )
            plot_au_timeline(
                args.plot_out,
                [p.timestamp for p in timeline],
                probs,
                [p.success for p in timeline],
                inferencer.au_names,
                inferencer.threshold,
            )
        print(f'plot -> {args.plot_out}')


if __name__ == '__main__':
    main()
