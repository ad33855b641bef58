"""Per-frame AU predictions for an image, an image folder, a video or a webcam.

Writes one CSV row per input frame (OpenFace-style columns: frame, timestamp, success,
confidence, AUxx_c presence, AUxx_p probability); frames without a face get a row with
success 0. Optionally writes an annotated video / image folder and a probability plot.

Example:
    python tools/infer.py face.mp4 --config configs/geocnn_bp4d_fold1.py \
        --checkpoint work_dirs/geocnn_bp4d_fold1/epoch_14.pth --out preds.csv \
        --show-out annotated.mp4 --plot-out aus.png
"""

import argparse


def parse_args(argv=None):
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
    return args


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    from tqdm import tqdm

    from geoconv_mm.apis import AUInferencer, FrameSource, write_au_csv
    from geoconv_mm.visualization import (
        AnnotatedFrameWriter,
        draw_au_frame,
        plot_au_timeline,
    )

    inferencer = AUInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        batch_size=args.batch_size,
        keep_crops=bool(args.show_out),
    )
    frames = FrameSource(args.input, fps=args.fps, max_frames=args.max_frames)
    writer = (
        AnnotatedFrameWriter(args.show_out, fps=args.fps)
        if args.show_out
        else None
    )
    images = {}

    def remember(stream):
        # Annotation needs the original frame until its (batched) prediction is ready.
        for frame in stream:
            if writer is not None:
                images[frame.index] = frame.image
            yield frame

    predictions = []
    stream = inferencer.iter_predictions(remember(frames))
    for pred in tqdm(
        stream, total=len(frames) or None, unit='frame', desc='AU inference'
    ):
        predictions.append(pred)
        if writer is not None:
            writer.write(
                pred.frame,
                draw_au_frame(
                    images.pop(pred.frame),
                    pred.crop,
                    pred.probabilities,
                    inferencer.au_names,
                    inferencer.threshold,
                ),
            )
            pred.crop = None
    if writer is not None:
        writer.close()
    write_au_csv(args.out, predictions, inferencer.au_names)
    found = sum(p.success for p in predictions)
    print(
        f'{len(predictions)} frames, {found} with a face, {len(predictions) - found} '
        f'without -> {args.out}'
    )
    if args.plot_out:
        nan = np.full(len(inferencer.au_names), np.nan)
        probs = np.stack(
            [p.probabilities if p.success else nan for p in predictions]
        )
        plot_au_timeline(
            args.plot_out,
            [p.timestamp for p in predictions],
            probs,
            [p.success for p in predictions],
            inferencer.au_names,
            inferencer.threshold,
        )
        print(f'plot -> {args.plot_out}')


if __name__ == '__main__':
    main()
