"""Shared parts of the BP4D / DISFA prepare tools: options, geometry step,
outputs.

Output layout under ``--out``::

    frames/<subject>/<sequence>/<frame>.jpg|.npz
                              aligned crops + FaceSurface records
    frames/summary*.json      geometry job summaries (per frame, shard)
    annotations/<name>.json   OpenMMLab 2.0 annotation (all subjects)
    prepare_report.json       what was found, skipped and why

Policy: every frame that has both a label and an image becomes a geometry task;
the largest face of a frame is its subject and the only one written (a frame
where the detector finds more than one face is counted, listed and logged under
``several_faces``, with the boxes of its faces); the annotation lists the
frames whose geometry succeeded. Everything else (frames without labels,
without images, without a face, failed) is counted and listed in the report and
logged with file and frame, never dropped silently. With ``--no-geometry`` the
annotation lists every labelled frame that has an image, with its ``source``
and ``source_frame`` but no ``img_path``/``geo_path``.
"""

from __future__ import annotations

import argparse
import logging
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence

from geoconv_mm.utils.atomic_io import atomic_write_json
from geoconv_mm.utils.output_dir import ensure_writable_dir
from geoconv_mm.utils.shards import parse_shard

from .jobs import read_summaries

LOGGER_NAME = 'geoconv_mm.prepare'
FRAMES_DIR = 'frames'
ANN_DIR = 'annotations'
REPORT_NAME = 'prepare_report.json'
#: At most this many individual file/frame names per problem go to the log; the
#: report always holds all of them.
LOG_EXAMPLES = 5


def get_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter('%(levelname)s %(message)s'))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return logger


def writable_dir(text: str) -> str:
    """``--out``: a folder that is created, and checked to be writable, when
    the arguments are read, before any work.

    Raises:
        argparse.ArgumentTypeError: It cannot be created or written.
    """
    try:
        return ensure_writable_dir(text)
    except OSError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(text: str) -> int:
    """An integer option that must be >= 1 (``--every``).

    Raises:
        argparse.ArgumentTypeError: Not an integer, or < 1.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected an integer, got {text!r}'
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def add_common_args(parser: argparse.ArgumentParser, default_aus: str) -> None:
    parser.add_argument(
        '--out', required=True, type=writable_dir, help='output folder'
    )
    parser.add_argument(
        '--au-ids',
        default=None,
        help=f'comma-separated AUs to store (default: {default_aus}); '
        'datasets can select any subset of them',
    )
    parser.add_argument(
        '--subjects',
        default=None,
        help='comma-separated subjects to prepare (default: all found)',
    )
    parser.add_argument(
        '--ann-name', default=None, help='annotation file stem'
    )
    parser.add_argument(
        '--no-geometry',
        action='store_true',
        help='only scan the tree and write the report and a label-only '
        'annotation (no crops, records, img_path or geo_path); a later run '
        'without it adds the geometry',
    )
    parser.add_argument(
        '--pipeline-config',
        default=None,
        help='mmengine config file with a `pipeline` dict for FacePipeline '
        '(default: MediaPipe face detector and face mesh, see '
        'DEFAULT_PIPELINE)',
    )
    parser.add_argument(
        '--workers', type=int, default=1, help='geometry worker processes'
    )
    parser.add_argument(
        '--shard',
        type=parse_shard,
        default=None,
        help='process only shard i of N (i/N, 1 <= i <= N: a cluster '
        'array\'s task id); the run that '
        'leaves no frame without a result writes the annotation',
    )
    parser.add_argument(
        '--no-resume',
        action='store_true',
        help='recompute frames that already have records',
    )


#: FacePipeline of the geometry step without ``--pipeline-config``: every face
#: of the frame is detected, so that a frame holding more than one is reported.
DEFAULT_PIPELINE = dict(
    detector=dict(type='MediaPipeFaceDetector'),
    reconstructor=dict(type='MediaPipeFaceMesh'),
)


def load_pipeline_cfg(path: Optional[str]) -> dict:
    """The ``pipeline`` dict of an mmengine config file, or
    :data:`DEFAULT_PIPELINE` when ``path`` is None."""
    if path is None:
        return dict(DEFAULT_PIPELINE)
    from mmengine.config import Config

    cfg = Config.fromfile(path)
    if 'pipeline' not in cfg:
        raise ValueError(
            f'{path}: no `pipeline` dict (the FacePipeline config)'
        )
    return cfg.to_dict()['pipeline']


class Report:
    """Collects what a prepare run found; logs problems with file and frame."""

    def __init__(self, dataset: str):
        self.data: Dict[str, object] = dict(dataset=dataset)
        self.problems: Dict[str, List[dict]] = {}
        self.logger = get_logger()

    def set(self, key: str, value) -> None:
        self.data[key] = value

    def problem(self, kind: str, message: str, items: Sequence[dict]) -> None:
        """Record ``items`` (dicts naming file and frame) under ``kind`` and
        log them.
        """
        if not items:
            return
        self.problems.setdefault(kind, []).extend(items)
        examples = ', '.join(_describe(i) for i in items[:LOG_EXAMPLES])
        more = (
            f' (+{len(items) - LOG_EXAMPLES} more in the report)'
            if len(items) > LOG_EXAMPLES
            else ''
        )
        self.logger.warning(
            f'{message}: {len(items)} frame(s): {examples}{more}'
        )

    def counts(self) -> Dict[str, int]:
        return {k: len(v) for k, v in self.problems.items()}

    def write(self, out_dir: str) -> str:
        path = osp.join(out_dir, REPORT_NAME)
        atomic_write_json(
            path,
            dict(
                self.data, problem_counts=self.counts(), problems=self.problems
            ),
        )
        return path


def _describe(item: dict) -> str:
    where = item.get('file', item.get('source', '?'))
    if 'frame' in item:
        return f'{where} frame {item["frame"]}'
    return str(where)


def run_geometry(
    entries: List[dict], root: str, out_dir: str, args, report: Report
) -> Optional[List[dict]]:
    """Run the face pipeline on ``entries``.

    Entries need ``source`` (relative to ``root``), ``source_frame`` and
    ``out_name``. Returns the entries whose geometry succeeded, with
    ``img_path`` and ``geo_path`` relative to ``out_dir``, or ``None`` while
    other shards are pending.
    """
    from .jobs import FrameTask, process_frames

    frames_dir = osp.join(out_dir, FRAMES_DIR)
    tasks = [
        FrameTask(
            osp.join(root, e['source']), e['source_frame'], e['out_name']
        )
        for e in entries
    ]
    kwargs = dict(
        workers=args.workers,
        resume=not args.no_resume,
        faces='largest',
        pipeline_cfg=load_pipeline_cfg(args.pipeline_config),
    )
    if args.shard is not None:
        kwargs['shard'] = args.shard
    summary = process_frames(tasks, frames_dir, **kwargs)
    status = read_geometry_status(frames_dir)
    # this run's results win over older summaries (a frame that failed before
    # may have succeeded now)
    status.update({e['out_name']: e for e in summary['frames']})
    kept, failed, pending, several = [], {}, [], []
    for e, task in zip(entries, tasks):
        s = status.get(e['out_name'])
        if (
            s is None
            or s.get('source') != task.source
            or int(s.get('frame_index', -1)) != task.frame_index
        ):
            pending.append(e)  # no result, or a stale one for another source
            continue
        if s['status'] == 'ok':
            e = dict(
                e,
                img_path=f"{FRAMES_DIR}/{e['out_name']}.jpg",
                geo_path=f"{FRAMES_DIR}/{e['out_name']}.npz",
            )
            missing = [
                p
                for p in (e['img_path'], e['geo_path'])
                if not osp.isfile(osp.join(out_dir, p))
            ]
            if missing:
                failed.setdefault('missing_record', []).append(
                    dict(
                        file=missing[0],
                        source=e['source'],
                        frame=e['frame'],
                        reason='summary says ok but the record is missing',
                    )
                )
                continue
            kept.append(e)
            faces = s.get('faces') or ()
            if len(faces) > 1:
                several.append(
                    dict(
                        source=e['source'],
                        frame=e['frame'],
                        faces=len(faces),
                        kept_box=next(
                            (f['box'] for f in faces if f.get('out_name')),
                            None,
                        ),
                        boxes=[f['box'] for f in faces],
                    )
                )
        else:
            failed.setdefault(s['status'], []).append(
                dict(
                    source=e['source'],
                    frame=e['frame'],
                    reason=s.get('reason'),
                )
            )
    report.problem(
        'several_faces',
        'frames holding more than one face (the largest, the subject, was '
        'kept)',
        several,
    )
    report.set('frames_with_several_faces', len(several))
    for kind, items in sorted(failed.items()):
        label = {'no_face': 'no face found', 'error': 'geometry failed'}.get(
            kind, kind
        )
        report.problem(f'geometry_{kind}', label, items)
    if pending:
        report.logger.warning(
            f'{len(pending)} frame(s) have no geometry result yet (other '
            'shards); the annotation is written by the run that completes '
            'the last shard, or by a run without --shard (which resumes)'
        )
        report.set('geometry_pending', len(pending))
        return None
    return kept


def read_geometry_status(frames_dir: str) -> Dict[str, dict]:
    """``out_name -> entry`` of every job summary in ``frames_dir`` (all
    shards), by the rule of :func:`.jobs.read_summaries`."""
    return {e['out_name']: e for e in read_summaries(frames_dir).values()}


def write_annotation(
    out_dir: str, name: str, metainfo: dict, entries: Iterable[dict]
) -> str:
    """Write ``annotations/<name>.json`` atomically; drops converter-internal
    keys.
    """
    data_list = []
    for e in entries:
        e = {k: v for k, v in e.items() if k != 'out_name'}
        data_list.append(e)
    path = osp.join(out_dir, ANN_DIR, f'{name}.json')
    atomic_write_json(
        path, dict(metainfo=metainfo, data_list=data_list), indent=1
    )
    return path


def finish(
    args,
    root: str,
    entries: List[dict],
    metainfo: dict,
    report: Report,
    default_name: str,
) -> int:
    """Geometry step (unless --no-geometry), annotation and report."""
    out_dir = osp.abspath(args.out)
    name = args.ann_name or default_name
    if args.no_geometry:
        for e in entries:
            e.pop('out_name', None)
        kept = entries
    else:
        kept = run_geometry(entries, root, out_dir, args, report)
    report_path = report.write(out_dir)
    if kept is None:
        report.logger.info(f'report: {report_path}')
        return 0
    report.set('annotated_frames', len(kept))
    ann = write_annotation(out_dir, name, metainfo, kept)
    report_path = report.write(out_dir)
    report.logger.info(
        f'{len(kept)} frames of {len(report.data["subjects"])} subjects -> '
        f'{ann}; report: {report_path}'
    )
    return 0
