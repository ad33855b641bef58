"""Align faces and write their 3D surface records for GeoConv.

Usage::

    python tools/dataset_converters/prepare_geodesic.py INPUT \\
        --out DIR [--workers 4] [--shard i/N] [--max-faces N] \\
        [--detector MediaPipeFaceDetector|WholeImageDetector]

INPUT is an image, a folder of images (searched recursively), a video, or a
dataset list (a .txt file with one image or video path per line, relative paths
taken from the list's folder). For each face of a frame it writes
``DIR/<name>.jpg`` (the aligned 224x224 crop) and ``DIR/<name>.npz`` (the
FaceSurface record the data pipeline turns into geodesic weights); the largest
face takes the frame's name, the k-th largest ``<name>_face<k>``.
``DIR/summary.json`` has one entry per input frame with its source, frame
index, status (ok / no_face / error), the reason, and ``faces``: each face's
box (xyxy, source pixels), detector confidence and output name. Faces are found
by MediaPipe's full-range detector over the whole frame
(``--detector WholeImageDetector`` gives the mesh stage the whole frame, one
face, for aligned crops). Re-running skips finished frames. With
``--shard i/N`` the summary is ``summary.shard-i-of-N.json``; a final run
without ``--shard`` skips everything done and writes the complete
``summary.json``.

An image or video that cannot be read is an ``error`` entry of the summary
(exit status 1 at the end), never the end of the run; the run stops at once,
with one line, when the output folder cannot be written or the face pipeline
cannot start.
"""

import argparse
import os
import sys

from geoconv_mm.datasets.converters.common import positive_int, writable_dir
from geoconv_mm.datasets.converters.jobs import (
    FrameTask,
    ShardBusyError,
    image_tasks,
    process_frames,
    video_tasks,
)
from geoconv_mm.utils.frame_io import (
    is_image,
    is_list_file,
    is_video,
    list_files,
    read_list_file,
)
from geoconv_mm.utils.shards import parse_shard
from geoconv_mm.utils.worker_pool import WorkerStartError


def list_tasks(path: str, every: int):
    """Frames of INPUT as FrameTasks (see the module docstring)."""
    if os.path.isdir(path):
        found = list_files(path, recursive=True, videos=True)
        tasks = image_tasks([f for f in found if is_image(f)], root=path)
        for v in (f for f in found if is_video(f)):
            tasks += video_tasks(
                v, every, os.path.splitext(os.path.relpath(v, path))[0]
            )
        if not tasks:
            raise SystemExit(f'{path}: no images or videos found')
        return tasks
    if not os.path.exists(path):
        raise SystemExit(f'{path}: no such file or folder')
    if is_video(path):
        return video_tasks(path, every)
    if is_list_file(path):
        tasks = []
        for full, entry in read_list_file(path):
            stem = os.path.splitext(
                entry if not os.path.isabs(entry) else os.path.basename(entry)
            )[0]
            if is_video(full):
                tasks += video_tasks(full, every, stem)
            else:
                tasks.append(FrameTask(full, 0, stem))
        return tasks
    if is_image(path):
        return image_tasks([path])
    raise SystemExit(f'{path}: not an image, video, folder or .txt list')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        'input', help='image, image folder, video or .txt list of paths'
    )
    parser.add_argument(
        '--out', required=True, type=writable_dir, help='output folder'
    )
    parser.add_argument(
        '--workers', type=int, default=1, help='worker processes'
    )
    parser.add_argument(
        '--shard',
        type=parse_shard,
        default=(1, 1),
        help='process only shard i of N (i/N, 1 <= i <= N)',
    )
    parser.add_argument(
        '--every',
        type=positive_int,
        default=1,
        help='take every n-th video frame (n >= 1)',
    )
    parser.add_argument('--crop-size', type=int, default=224)
    parser.add_argument(
        '--reconstructor',
        default='MediaPipeFaceMesh',
        help='RECONSTRUCTORS type (file-backed ones need a config in code)',
    )
    parser.add_argument(
        '--detector',
        default='MediaPipeFaceDetector',
        help='FACE_DETECTORS type (WholeImageDetector: the frame is one face)',
    )
    parser.add_argument(
        '--max-faces',
        type=int,
        default=None,
        help='faces per frame, largest first (default: all)',
    )
    parser.add_argument(
        '--no-resume', action='store_true', help='redo finished frames'
    )
    args = parser.parse_args(argv)
    if args.max_faces is not None and args.max_faces < 1:
        parser.error(f'--max-faces must be >= 1, got {args.max_faces}')
    tasks = list_tasks(args.input, args.every)
    try:
        summary = process_frames(
            tasks,
            args.out,
            workers=args.workers,
            shard=args.shard,
            resume=not args.no_resume,
            pipeline_cfg=dict(
                reconstructor=dict(type=args.reconstructor),
                detector=dict(type=args.detector),
                crop_size=args.crop_size,
                max_faces=args.max_faces,
            ),
        )
    except (WorkerStartError, ShardBusyError) as err:
        raise SystemExit(f'prepare_geodesic.py: {err}') from None
    c = summary['counts']
    faces = sum(len(e.get('faces') or ()) for e in summary['frames'])
    print(
        f"{len(summary['frames'])} frames: {c['ok']} ok ({faces} faces), "
        f"{c['no_face']} no face, {c['error']} errors -> {args.out}"
    )
    return 0 if c['error'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
