"""Resumable, sharded, multi-process preparation of per-frame face records.

Every prepare tool (images, videos, BP4D, DISFA) lists its frames as
:class:`FrameTask` and calls :func:`process_frames`, which writes for each
frame ``<out_dir>/<out_name>.jpg`` (aligned crop) and
``<out_dir>/<out_name>.npz`` (:class:`FaceSurface` record), both atomically,
and a summary with one entry per frame. A frame with several faces writes the
k-th largest as ``<out_name>_face<k>`` (``faces='all'``) or only the largest
(``faces='largest'``); the frame's summary entry lists its faces with their
boxes, scores and output names.

Nothing done is lost to an interruption: every finished source's entries are
appended to a journal beside the summary as soon as they are known, and a
resumed run reads the journals with the summaries (:func:`read_summaries`),
so its summary is the uninterrupted run's. A run checks its output folder is
writable before the work, holds a lock so that a second run of the same shard
in the same folder stops at once, and turns one unreadable source (image or
video), even one that crashes its worker process, into error entries while
the job goes on.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2

from geoconv_mm.utils.atomic_io import atomic_write_bytes
from geoconv_mm.utils.frame_io import (
    count_video_frames,
    is_video,
    read_image,
    read_video_frames,
)
from geoconv_mm.utils.output_dir import ensure_writable_dir
from geoconv_mm.utils.shards import take_shard
from geoconv_mm.utils.worker_pool import (
    WorkerDiedError,
    WorkerPool,
    WorkerStartError,
    describe_exit,
)


@dataclass(frozen=True)
class FrameTask:
    """One frame to process.

    Args:
        source (str): Image path, or video path (then ``frame_index`` picks the
            frame).
        frame_index (int): 0-based frame of a video; 0 for an image.
        out_name (str): Output path stem relative to ``out_dir``
            (may contain '/').
    """

    source: str
    frame_index: int
    out_name: str


def summary_name(shard: Tuple[int, int]) -> str:
    i, n = shard
    return 'summary.json' if n == 1 else f'summary.shard-{i}-of-{n}.json'


#: A journal's name is its summary's with this ending instead of ``.json``.
JOURNAL_SUFFIX = '.journal.jsonl'


def journal_name(shard: Tuple[int, int]) -> str:
    """The journal of a shard's summary: one JSON entry per line, appended
    as sources finish, read by a resumed run, removed once the summary is
    written."""
    return summary_name(shard)[: -len('.json')] + JOURNAL_SUFFIX


def _is_done(out_dir: str, task: FrameTask) -> bool:
    base = os.path.join(out_dir, task.out_name)
    return os.path.exists(base + '.npz') and os.path.exists(base + '.jpg')


def _faces_done(out_dir: str, entry: Optional[dict]) -> bool:
    """Every face an earlier summary entry lists as written has its crop and
    record (an entry without a face list, from an older run, says nothing)."""
    if not entry or entry.get('status') != 'ok':
        return True
    for face in entry.get('faces') or ():
        name = face.get('out_name')
        if name and not _is_done(out_dir, FrameTask('', 0, name)):
            return False
    return True


def read_summaries(out_dir: str) -> Dict[Tuple[str, int], dict]:
    """Entries of every job summary and journal in ``out_dir`` (all shards),
    by (source, frame_index).

    The rule: files are read oldest first (modification time, then name),
    and a journal's lines in order, so a newer entry of a frame wins; a
    damaged summary is skipped with a warning naming it, and so is a
    journal line that does not parse (the end of a line a killed run was
    writing), which only costs re-processing their frames.
    """
    paths = glob.glob(os.path.join(out_dir, 'summary*.json'))
    paths += glob.glob(os.path.join(out_dir, 'summary*' + JOURNAL_SUFFIX))
    paths.sort(key=lambda p: (os.path.getmtime(p), p))
    entries: Dict[Tuple[str, int], dict] = {}
    for path in paths:
        journal = path.endswith(JOURNAL_SUFFIX)
        try:
            frames = (_read_journal if journal else _read_summary)(path)
            loaded = {(e['source'], int(e['frame_index'])): e for e in frames}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            warnings.warn(
                f'{path}: not a readable job summary ({exc}); its '
                'frames count as not done'
            )
            continue
        entries.update(loaded)
    return entries


def _read_summary(path: str) -> List[dict]:
    with open(path) as fh:
        return json.load(fh)['frames']


def _read_journal(path: str) -> List[dict]:
    frames, bad = [], []
    with open(path) as fh:
        for number, line in enumerate(fh, 1):
            try:
                entry = json.loads(line)
                (entry['source'], int(entry['frame_index']))  # noqa: B018
            except (ValueError, KeyError, TypeError):
                bad.append(number)
                continue
            frames.append(entry)
    if bad:
        warnings.warn(
            f'{path}: line(s) {bad[:5]} are not job summary entries (cut off '
            'by an interruption?); their frames count as not done'
        )
    return frames


# ----------------------------------------------------------------- worker side
_PIPELINE = None


def _init_worker(pipeline_cfg: dict) -> None:
    global _PIPELINE
    cv2.setNumThreads(1)
    from geoconv_mm.face import FacePipeline

    _PIPELINE = FacePipeline(**pipeline_cfg)


def _read_frames(
    source: str, indices: Sequence[int]
) -> Iterator[Tuple[int, object]]:
    """Yield (frame_index, BGR image or Exception) for the wanted frames of a
    source.
    """
    if is_video(source):
        yield from read_video_frames(source, indices)
        return
    for idx in indices:
        try:
            yield idx, read_image(source)
        except Exception as exc:  # reported per frame, never fatal
            yield idx, exc


#: ``faces`` modes of :func:`process_frames`.
FACE_MODES = ('all', 'largest')


def face_out_name(out_name: str, face: int) -> str:
    """Output stem of face ``face`` (0 = largest) of a frame named
    ``out_name``: the frame's own name for the largest face, so one-face
    outputs keep their names."""
    return out_name if face == 0 else f'{out_name}_face{face}'


def _write_face(out_dir: str, out_name: str, result) -> None:
    ok, jpg = cv2.imencode('.jpg', result.crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise RuntimeError('JPEG encoding failed')
    base = os.path.join(out_dir, out_name)
    atomic_write_bytes(base + '.jpg', jpg.tobytes())
    # The record last: its presence with the crop marks the face done.
    result.surface.save(base + '.npz')


def _face_record(det, face: int, out_name: Optional[str], result=None):
    rec = dict(
        face=face,
        box=[round(float(v), 2) for v in det.box],
        confidence=round(float(det.score), 4),
        out_name=out_name,
    )
    if result is not None:
        rec['mesh_confidence'] = round(float(result.confidence), 4)
    return rec


def _frame_faces(
    frame, task: FrameTask, out_dir: str, name: str, mode: str
) -> Tuple[float, List[dict]]:
    """Detect, reconstruct and write the faces of one frame.

    ``'all'`` writes every face (at most the pipeline's ``max_faces``) and
    lists those written; ``'largest'`` writes the largest face that gives a
    mesh (the subject of a one-person data set) and lists every detection,
    the others with ``out_name`` None. The largest face is written last, so
    its record marks the whole frame done.

    Returns:
        tuple: (mesh confidence of the largest written face, face records).

    Raises:
        NoFaceError | DegenerateMeshError: No detection gave a usable face.
    """
    from geoconv_mm.face import NoFaceError
    from geoconv_mm.geodesic.surface import DegenerateMeshError

    meta = dict(source=task.source, frame_index=task.frame_index)
    limit = 1 if mode == 'largest' else _PIPELINE.max_faces
    kept, records, dropped = [], [], []
    for det in _PIPELINE.detect(frame, name):
        if limit is not None and len(kept) >= limit:
            if mode == 'largest':
                records.append(_face_record(det, len(records), None))
            continue
        try:
            result = _PIPELINE.process_detection(frame, det, meta, name)
        except (NoFaceError, DegenerateMeshError) as err:
            dropped.append(err)
            if mode == 'largest':
                records.append(_face_record(det, len(records), None))
            continue
        k = len(kept) if mode == 'all' else len(records)
        out_name = face_out_name(task.out_name, len(kept))
        kept.append((out_name, result))
        records.append(_face_record(det, k, out_name, result))
    if not kept:
        raise dropped[0] if dropped else NoFaceError(f'{name}: no face found')
    for out_name, result in kept[::-1]:
        _write_face(out_dir, out_name, result)
    return kept[0][1].confidence, records


def _process_unit(args) -> List[dict]:
    """Process the frames of one source; returns their summary entries."""
    out_dir, tasks, mode = args
    from geoconv_mm.face import NoFaceError

    by_index = {t.frame_index: t for t in tasks}
    entries = []
    for idx, frame in _read_frames(tasks[0].source, list(by_index)):
        task = by_index[idx]
        entry = _entry(task)
        try:
            if isinstance(frame, Exception):
                raise frame
            name = (
                task.source
                if not is_video(task.source)
                else f'{task.source} frame {task.frame_index}'
            )
            confidence, faces = _frame_faces(frame, task, out_dir, name, mode)
            entry['confidence'] = round(confidence, 4)
            entry['faces'] = faces
        except NoFaceError as exc:
            entry.update(status='no_face', reason=str(exc))
        except Exception as exc:  # a bad frame is logged, the job goes on
            entry.update(status='error', reason=f'{type(exc).__name__}: {exc}')
        entries.append(entry)
    return entries


def _units(
    tasks: Sequence[FrameTask], images_per_unit: int = 16
) -> List[List[FrameTask]]:
    """Frames of one video form one unit (decoded in order); images go in
    batches.
    """
    videos: Dict[str, List[FrameTask]] = OrderedDict()
    images: List[FrameTask] = []
    for t in tasks:
        (
            videos.setdefault(t.source, []) if is_video(t.source) else images
        ).append(t)
    units = [sorted(v, key=lambda t: t.frame_index) for v in videos.values()]
    units += [
        images[i : i + images_per_unit]
        for i in range(0, len(images), images_per_unit)
    ]
    return units


def _split_by_source(unit: List[FrameTask]) -> List[List[FrameTask]]:
    groups: Dict[Tuple[str, int], List[FrameTask]] = OrderedDict()
    for t in unit:
        groups.setdefault(
            (t.source, 0 if is_video(t.source) else t.frame_index), []
        ).append(t)
    return list(groups.values())


def _run_unit(args) -> List[dict]:
    out_dir, unit, mode = args
    entries = []
    for group in _split_by_source(unit):
        entries += _process_unit((out_dir, group, mode))
    return entries


# ----------------------------------------------------------------- driver side
def process_frames(
    tasks: Sequence[FrameTask],
    out_dir: str,
    *,
    pipeline_cfg: Optional[dict] = None,
    workers: int = 1,
    shard: Tuple[int, int] = (1, 1),
    resume: bool = True,
    progress: bool = True,
    faces: str = 'all',
) -> dict:
    """Run :class:`FacePipeline` over frames; write crops, records and a
    summary.

    Args:
        tasks (Sequence[FrameTask]): All frames of the job (every shard sees
            the same list; shard i of N takes its tasks i, i+N, i+2N, ...,
            counting from 1: :func:`geoconv_mm.utils.shards.take_shard`).
        out_dir (str): Output folder; created, and checked to be writable,
            before any frame is processed.
        pipeline_cfg (dict, optional): Keyword arguments of
            :class:`FacePipeline`.
        workers (int): Worker processes (0 or 1: in this process).
        shard (tuple[int, int]): (i, N), 1 <= i <= N.
        resume (bool): Skip frames an earlier run finished (their summary or
            journal entry says ok and their crops and records exist), and
            frames an earlier run found no face in.
        progress (bool): Show a tqdm bar.
        faces (str): ``'all'``: write every face of a frame (at most the
            pipeline's ``max_faces``), the largest as ``<out_name>`` and the
            k-th largest as ``<out_name>_face<k>``; ``'largest'``: write only
            the largest face (the subject of a one-person data set) and list
            the others.

    Returns:
        dict: The summary written to ``<out_dir>/summary.json`` (or
        ``summary.shard-i-of-N.json`` when N > 1): ``frames`` (one entry per
        frame of this shard: source, frame_index, out_name, status
        ok/no_face/error, reason, and ``faces``: one record per face, largest
        first, with ``face`` (its rank), ``box`` (xyxy source pixels),
        ``confidence`` (detector score), ``out_name`` (None for a face that
        was not written) and, when written, ``mesh_confidence``) and
        ``counts``.

    Raises:
        OSError: ``out_dir`` cannot be written.
        ShardBusyError: Another run holds this shard of ``out_dir``.
        WorkerStartError: The face pipeline cannot start (in a worker process
            or in this one); one line names the cause.
    """
    from tqdm import tqdm

    mine = take_shard(tasks, *shard)
    names = [t.out_name for t in tasks]
    if len(set(names)) != len(names):
        dup = next(x for x in names if names.count(x) > 1)
        raise ValueError(f'two frames share the output name {dup!r}')
    if faces not in FACE_MODES:
        raise ValueError(f'faces must be one of {FACE_MODES}, got {faces!r}')
    if faces == 'all':
        taken = set(names)
        for name in names:
            base, sep, k = name.rpartition('_face')
            if sep and k.isdigit() and int(k) > 0 and base in taken:
                raise ValueError(
                    f'the output name {name!r} is also the name of face {k} '
                    f'of the frame {base!r}'
                )
    ensure_writable_dir(out_dir)
    with _open_journal(out_dir, shard) as journal:
        previous = read_summaries(out_dir) if resume else {}
        entries: Dict[Tuple[str, int], dict] = OrderedDict(
            ((t.source, t.frame_index), None) for t in mine
        )
        todo = []
        for t in mine:
            key = (t.source, t.frame_index)
            old = previous.get(key)
            status = old.get('status') if old else None
            if (
                status == 'ok'
                and _is_done(out_dir, t)
                and _faces_done(out_dir, old)
            ) or status == 'no_face':
                entries[key] = old
            else:
                # Crops and records without an entry (a run killed between
                # them and its journal line) are made again: their entry
                # (faces, confidences) exists nowhere else.
                todo.append(t)
        bar = tqdm(
            total=len(todo),
            desc=f'faces {shard[0]}/{shard[1]}',
            disable=not progress,
            unit='frame',
            dynamic_ncols=True,
        )
        try:
            for res in _run_units(
                _units(todo),
                out_dir,
                faces,
                dict(pipeline_cfg or {}),
                workers,
            ):
                _collect(res, entries, bar, journal)
        finally:
            bar.close()
            done = [e for e in entries.values() if e is not None]
            summary = _write_summary(out_dir, shard, done)
            # Every journal entry is in the summary now.
            os.unlink(journal.name)
    return summary


def _run_units(
    units: List[List[FrameTask]],
    out_dir: str,
    mode: str,
    cfg: dict,
    workers: int,
) -> Iterator[List[dict]]:
    """The summary entries of each unit, as units finish."""
    if not units:
        return
    args = [(out_dir, u, mode) for u in units]
    if workers <= 1:
        try:
            _init_worker(cfg)
        except Exception as exc:
            raise WorkerStartError(
                f'the face pipeline cannot start: {type(exc).__name__}: {exc}'
            ) from exc
        yield from map(_run_unit, args)
        return
    with WorkerPool(
        min(workers, len(units)),
        _init_worker,
        (cfg,),
        name='face pipeline',
    ) as pool:
        while args:
            retry = []
            for (_, unit, _), res in pool.imap_unordered(
                _run_unit, args, keep_going=True
            ):
                if isinstance(res, WorkerDiedError):
                    # Whatever ended it (a decoder crash, the OOM killer)
                    # came from one of the unit's sources: each is retried
                    # alone, so that only the culprit becomes errors.
                    groups = _split_by_source(unit)
                    if len(groups) > 1:
                        retry += groups
                        continue
                    reason = (
                        'WorkerDiedError: the face pipeline worker process '
                        f'ended abruptly ({describe_exit(res.exitcode)}) '
                        'while processing this source'
                    )
                    res = [_entry(t, 'error', reason) for t in unit]
                yield res
            args = [(out_dir, g, mode) for g in retry]


class ShardBusyError(RuntimeError):
    """Another run is preparing the same shard of the same output folder."""


@contextmanager
def _open_journal(out_dir: str, shard: Tuple[int, int]) -> Iterator:
    """The shard's journal, open for appending and locked for the block: a
    second run of the same shard in the same folder would mix two runs'
    entries, so it stops at once."""
    path = os.path.join(out_dir, journal_name(shard))
    while True:
        fh = open(path, 'a')
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            i, n = shard
            raise ShardBusyError(
                f'{out_dir}: another run is preparing shard {i}/{n} of this '
                f'folder (it holds {path}); wait for it to end, or give this '
                'run another --out or --shard'
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        # The run that held it removed it in the meantime: take the new one.
        fh.close()
    with fh:
        yield fh


def _entry(task: FrameTask, status: str = 'ok', reason: str = '') -> dict:
    return dict(
        source=task.source,
        frame_index=task.frame_index,
        out_name=task.out_name,
        status=status,
        reason=reason,
        faces=[],
    )


def _collect(res: List[dict], entries: dict, bar, journal) -> None:
    journal.write(''.join(json.dumps(e) + '\n' for e in res))
    journal.flush()
    for e in res:
        entries[(e['source'], e['frame_index'])] = e
    bar.update(len(res))


def _write_summary(
    out_dir: str, shard: Tuple[int, int], frames: List[dict]
) -> dict:
    counts = {
        s: sum(e['status'] == s for e in frames)
        for s in ('ok', 'no_face', 'error')
    }
    summary = dict(counts=counts, frames=frames)
    atomic_write_bytes(
        os.path.join(out_dir, summary_name(shard)),
        json.dumps(summary, indent=1).encode(),
    )
    return summary


def image_tasks(
    paths: Sequence[str], root: Optional[str] = None
) -> List[FrameTask]:
    """Tasks for images; out_name is the path relative to ``root`` without
    extension.
    """
    tasks = []
    for p in paths:
        rel = os.path.relpath(p, root) if root else os.path.basename(p)
        tasks.append(FrameTask(p, 0, os.path.splitext(rel)[0]))
    return tasks


def video_tasks(
    path: str, every: int = 1, out_prefix: Optional[str] = None
) -> List[FrameTask]:
    """Tasks for every ``every``-th frame of a video (frames counted by
    decoding when the container does not say).

    A video that cannot be opened, or decodes no frame, gets one task (frame
    0), whose processing fails and records why as that frame's error entry:
    one bad video of a batch is an error of the summary, not the end of the
    job.

    Raises:
        ValueError: ``every`` < 1.
    """
    if every < 1:
        raise ValueError(f'every must be >= 1 (every n-th frame), got {every}')
    prefix = out_prefix or os.path.splitext(os.path.basename(path))[0]
    try:
        count = count_video_frames(path, trust_container=True)
    except (OSError, ValueError):
        count = 1
    return [
        FrameTask(path, k, f'{prefix}/{k:06d}') for k in range(0, count, every)
    ]
