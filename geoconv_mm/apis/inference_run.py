"""A many-input run: one CSV per input in an output folder, a summary, and
resume.

An input is finished only when its CSV is complete: rows are written (and
flushed) to ``<name>.csv.partial`` as frames are done and the file is
renamed to ``<name>.csv`` after the last frame. A rerun skips every input
whose ``<name>.csv`` exists and starts the others afresh. The summary
(``summary.csv``, or ``summary.shard-<i>-of-<N>.csv`` for a shard) gives
every input's status, frames, faces and time; it is rewritten atomically
after each input, so an interrupted run leaves an up-to-date one.

The frames go through an in-process :class:`AUInferencer`
(:func:`run_in_process`) or worker processes
(:mod:`.inference_workers`); both report to one :class:`RunRecorder`.
"""

from __future__ import annotations

import csv
import logging
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

from geoconv_mm.utils.atomic_io import atomic_path

from .au_csv import AUColumnGroup, AUCsvWriter
from .au_prediction import AUPrediction
from .inference_inputs import InferenceInput

logger = logging.getLogger(__name__)

#: The summary's columns.
SUMMARY_COLUMNS = (
    'input',
    'kind',
    'csv',
    'status',
    'reason',
    'frames',
    'faces',
    'frames_without_face',
    'seconds',
)
#: Statuses of a summary row: ``done`` (this run wrote the CSV), ``failed``
#: (the reason says why; the rows so far are in ``<csv>.partial``),
#: ``skipped`` (complete from an earlier run), ``pending`` (not reached yet:
#: the run was interrupted).
SUMMARY_STATUSES = ('done', 'failed', 'skipped', 'pending')

PARTIAL_SUFFIX = '.partial'


def summary_path(out_dir: str, shard: Optional[tuple] = None) -> str:
    """``summary.csv``, or ``summary.shard-<i>-of-<N>.csv`` for a shard (the
    shards of one array job write to the same folder)."""
    name = (
        'summary.csv'
        if shard is None
        else (f'summary.shard-{shard[0]}-of-{shard[1]}.csv')
    )
    return osp.join(out_dir, name)


def is_complete(inp: InferenceInput, out_dir: str) -> bool:
    """Whether an earlier run finished ``inp`` (webcams never are)."""
    return inp.kind != 'webcam' and osp.isfile(inp.csv_path(out_dir))


def count_rows(path: str) -> Dict[str, int]:
    """Frames, faces and frames without a face of a finished CSV."""
    frames, faces, empty = set(), 0, set()
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            frames.add(row['frame'])
            if row['success'] == '1':
                faces += 1
            else:
                empty.add(row['frame'])
    return dict(
        frames=len(frames), faces=faces, frames_without_face=len(empty)
    )


def by_frame(predictions):
    """Groups consecutive predictions of the same frame."""
    group: List[AUPrediction] = []
    for pred in predictions:
        if group and pred.frame != group[0].frame:
            yield group
            group = []
        group.append(pred)
    if group:
        yield group


class _InputProgress:
    """One input being written: its partial CSV, counts and frame bar."""

    def __init__(self, inp, out_dir, columns, total, slot, progress):
        self.final = inp.csv_path(out_dir)
        self.partial = self.final + PARTIAL_SUFFIX
        self.writer = AUCsvWriter(self.partial, *columns)
        self.frames = self.faces = self.empty = 0
        self.last_frame = None
        self.start = time.perf_counter()
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total or None,
                desc=inp.name,
                unit='frame',
                position=1 + slot,
                leave=False,
                dynamic_ncols=True,
            )

    def write(self, preds: Sequence[AUPrediction]) -> None:
        for pred in preds:
            self.writer.write(pred)
            if pred.frame != self.last_frame:
                self.last_frame = pred.frame
                self.frames += 1
                if self.bar is not None:
                    self.bar.update(1)
            # A frame has rows of analysed faces, or one row without.
            self.faces += pred.success
            self.empty += not pred.success

    def close(self) -> None:
        self.writer.close()
        if self.bar is not None:
            self.bar.close()


class RunRecorder:
    """Writes each input's CSV, the summary and the progress bars of a
    run, whichever process computed the rows.

    Args:
        inputs (Sequence[InferenceInput]): This run's (or shard's) inputs.
        out_dir (str): The output folder.
        au_names (Sequence[str]): The CSVs' AU names (may be set later,
            before the first input starts).
        column_groups (Sequence[AUColumnGroup]): The CSVs' per-AU column
            groups, those of the model's outputs
            (:func:`~geoconv_mm.apis.au_csv.au_column_groups`; may be set
            later, like ``au_names``).
        shard (tuple, optional): (i, N) of a shard, for the summary's name.
        progress (bool): Show progress bars (inputs, and frames of each
            input being read).
    """

    def __init__(
        self,
        inputs: Sequence[InferenceInput],
        out_dir: str,
        au_names: Optional[Sequence[str]] = None,
        column_groups: Optional[Sequence[AUColumnGroup]] = None,
        shard: Optional[tuple] = None,
        progress: bool = True,
    ) -> None:
        self.inputs = list(inputs)
        self.out_dir = out_dir
        self.au_names = None if au_names is None else list(au_names)
        self.column_groups = (
            None if column_groups is None else tuple(column_groups)
        )
        self.path = summary_path(out_dir, shard)
        self.progress = progress
        self.rows = [
            dict(
                input=inp.source,
                kind=inp.kind,
                csv=osp.relpath(inp.csv_path(out_dir), out_dir),
                status='pending',
                reason='',
                frames='',
                faces='',
                frames_without_face='',
                seconds='',
            )
            for inp in self.inputs
        ]
        self.todo = []
        for index, inp in enumerate(self.inputs):
            if is_complete(inp, out_dir):
                self.rows[index].update(
                    status='skipped',
                    reason='complete from an earlier run',
                    **count_rows(inp.csv_path(out_dir)),
                )
            else:
                self.todo.append(index)
        self._open: Dict[int, _InputProgress] = {}
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(
                total=len(self.todo),
                desc='inputs',
                unit='input',
                position=0,
                dynamic_ncols=True,
            )
        self.write_summary()

    @property
    def failed(self) -> List[dict]:
        return [r for r in self.rows if r['status'] == 'failed']

    def start(self, index: int, total_frames: int = 0, slot: int = 0):
        """Input ``index`` starts (its CSV is opened afresh)."""
        if self.au_names is None or self.column_groups is None:
            raise RuntimeError('the AU names and columns are not known yet')
        self._open[index] = _InputProgress(
            self.inputs[index],
            self.out_dir,
            (self.au_names, self.column_groups),
            total_frames,
            slot,
            self.progress,
        )

    def write(self, index: int, preds: Sequence[AUPrediction]) -> None:
        """Rows of input ``index``, in frame order (each written and
        flushed at once)."""
        self._open[index].write(preds)

    def done(self, index: int) -> None:
        """Input ``index`` is complete: its CSV gets its final name."""
        state = self._open.pop(index)
        state.close()
        os.replace(state.partial, state.final)
        self._finish(index, 'done', '', state)

    def fail(self, index: int, reason: str) -> None:
        """Input ``index`` failed; the rows so far stay in its partial
        CSV and the run goes on."""
        state = self._open.pop(index, None)
        if state is not None:
            state.close()
        source = self.inputs[index].source
        where = '' if source in reason else f'{source}: '
        logger.error('%s%s (input failed, the others go on)', where, reason)
        self._finish(index, 'failed', reason, state)

    def _finish(self, index, status, reason, state) -> None:
        row = self.rows[index]
        row.update(status=status, reason=' '.join(reason.split()))
        if state is not None:
            row.update(
                frames=state.frames,
                faces=state.faces,
                frames_without_face=state.empty,
                seconds=f'{time.perf_counter() - state.start:.2f}',
            )
        if self.bar is not None:
            self.bar.update(1)
        self.write_summary()

    def write_summary(self) -> None:
        with atomic_path(self.path, '.tmp.csv') as tmp:
            with open(tmp, 'w', newline='') as f:
                writer = csv.DictWriter(f, SUMMARY_COLUMNS)
                writer.writeheader()
                writer.writerows(self.rows)

    def close(self) -> None:
        """Close what is still open (an interrupted run): those inputs
        stay pending, their rows in the partial CSVs."""
        for state in self._open.values():
            state.close()
        self._open.clear()
        if self.bar is not None:
            self.bar.close()
        self.write_summary()


def run_in_process(
    inferencer,
    recorder: RunRecorder,
    fps: float = 30.0,
    max_frames: Optional[int] = None,
) -> None:
    """Every pending input of ``recorder`` through one inferencer (its
    model and face models loaded once), one after the other."""
    if recorder.au_names is None:
        recorder.au_names = inferencer.au_names
    if recorder.column_groups is None:
        recorder.column_groups = inferencer.column_groups
    for index in recorder.todo:
        inp = recorder.inputs[index]
        try:
            frames = inp.open(fps, max_frames)
            recorder.start(index, len(frames))
            for pred in inferencer.iter_predictions(frames, inp.sequence):
                recorder.write(index, (pred,))
        except Exception as exc:  # one input's failure: the others go on
            recorder.fail(index, input_error(exc))
            continue
        recorder.done(index)


def input_error(exc: BaseException) -> str:
    """The summary's reason for an input that failed: the message of an
    input error as it is (it names the file), the type of anything else."""
    if isinstance(exc, (OSError, ValueError)) and str(exc):
        return str(exc)
    return f'{type(exc).__name__}: {exc}'
