"""Worker processes of a many-input run.

Each worker reads whole inputs, one at a time (face ids and tracking follow
one input's frames in order), and sends every frame's rows to the main
process, which writes them (:class:`~.inference_run.RunRecorder`). Two
ways to split the work, chosen by ``network``:

- ``'shared'``: workers run the face front-end only (detection, mesh,
  alignment, geodesic weights) and send packed samples; the main process
  holds the one network and runs it in batches that mix the workers'
  inputs (on a GPU, or the CPU's remaining threads);
- ``'replicated'``: every worker runs the whole inferencer, network
  included, on ``threads`` threads, and sends finished rows.

Workers are spawned, not forked (a fork copies torch's and OpenCV's thread
pools in whatever state they are). A worker that cannot start ends the run
with one line (:class:`WorkerStartError`); one that dies while reading an
input fails that input, and a new worker takes its place. The results
queue is bounded, so workers wait for the main process rather than pile up
frames: memory does not grow with video length.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .au_csv import au_column_groups
from .inference_run import RunRecorder, input_error

NETWORK_MODES = ('shared', 'replicated')
#: Seconds a worker may take to start (imports, models) before the run
#: gives up on it.
START_TIMEOUT = 600.0


class WorkerStartError(RuntimeError):
    """A worker process could not start."""


@dataclass
class WorkerSpec:
    """What a worker builds (picklable; sent to spawned processes).

    Args:
        network (str): ``'shared'`` or ``'replicated'`` (module docstring).
        inferencer (dict): Keyword arguments of
            :class:`~geoconv_mm.apis.AUInferencer` (``replicated``: the
            config or the deployed model among them), or of
            :class:`~geoconv_mm.apis.AUFrontEnd` (``shared``: the network's
            test pipeline and geodesic-weight specs among them).
        threads (int): Torch threads of each worker.
        fps (float): Frame rate assumed for image sequences.
        max_frames (int, optional): Frames read per input at most.
        verbose (bool): Let the libraries' start-up chatter through
            (:class:`~geoconv_mm.apis.console.QuietConsole`).
    """

    network: str
    inferencer: dict = field(default_factory=dict)
    threads: int = 1
    fps: float = 30.0
    max_frames: Optional[int] = None
    verbose: bool = False

    @classmethod
    def shared(
        cls,
        network,
        face_pipeline: dict,
        front_end: Optional[dict] = None,
        **fields,
    ) -> 'WorkerSpec':
        """The spec of workers that prepare faces for ``network``, which
        runs in the main process: its test pipeline and the geodesic-weight
        specs of its GeoConv layers at the crop size of ``face_pipeline``.

        Args:
            network: A :data:`~geoconv_mm.apis.NETWORK_BACKENDS` instance.
            face_pipeline (dict): The face pipeline's options
                (:func:`~geoconv_mm.apis.au_front_end.face_pipeline_config`).
            front_end (dict, optional): More keyword arguments of
                :class:`~geoconv_mm.apis.AUFrontEnd`.
            **fields: The other fields (``threads``, ``fps``...).
        """
        return cls(
            'shared',
            dict(
                pipeline=network.test_pipeline,
                geo_specs=network.geo_specs(face_pipeline['crop_size']),
                face_pipeline=face_pipeline,
                **(front_end or {}),
            ),
            **fields,
        )


def _build(spec: WorkerSpec):
    import cv2
    import torch

    torch.set_num_threads(spec.threads)
    cv2.setNumThreads(1)
    if spec.network == 'shared':
        from .au_front_end import AUFrontEnd

        return AUFrontEnd(**spec.inferencer), {}
    from .au_inferencer import AUInferencer

    inferencer = AUInferencer(**spec.inferencer)
    return inferencer, dict(
        au_ids=inferencer.au_ids,
        occurrence=inferencer.predicts_occurrence,
        intensity=inferencer.predicts_intensity,
    )


def _worker(
    slot: int, spec: WorkerSpec, tasks, results, parent_pid: int
) -> None:
    """A worker's life: build, report ready, read the inputs it is given.
    Its stderr is the main process's (filtered there). It ends with the
    main process, even one killed by SIGKILL."""
    from geoconv_mm.utils import die_with_parent

    from .console import QuietConsole

    die_with_parent(parent_pid)
    try:
        # The filter itself runs in the main process: only the loaders'
        # stdout and MMEngine's logger are quietened here.
        console = QuietConsole(spec.verbose)
        with console.loading():
            if not spec.verbose:
                console.quiet_loggers()
            stage, info = _build(spec)
    except BaseException as exc:  # noqa: B902 - reported, then the end
        results.put(('init_failed', slot, f'{type(exc).__name__}: {exc}'))
        return
    results.put(('ready', slot, info))
    while True:
        task = tasks.get()
        if task is None:
            return
        index, inp = task
        try:
            frames = inp.open(spec.fps, spec.max_frames)
            results.put(('start', slot, index, len(frames)))
            if spec.network == 'shared':
                stage.start(inp.sequence)
                for frame in frames:
                    results.put(('rows', slot, index, stage.preprocess(frame)))
            else:
                for pred in stage.iter_predictions(frames, inp.sequence):
                    results.put(('rows', slot, index, [(pred, None)]))
        except Exception as exc:  # one input's failure, not the worker's
            results.put(('failed', slot, index, input_error(exc)))
            continue
        results.put(('done', slot, index))


class WorkerPool:
    """Runs a recorder's pending inputs on ``count`` worker processes.

    Args:
        spec (WorkerSpec): What each worker builds.
        count (int): Workers.
        network: The main process's network in ``shared`` mode (a
            :data:`~geoconv_mm.apis.NETWORK_BACKENDS` instance: ``predict``
            and ``threshold``); None in ``replicated`` mode.
        batch_size (int): Faces per forward pass of the shared network.
    """

    def __init__(
        self,
        spec: WorkerSpec,
        count: int,
        network=None,
        batch_size: int = 16,
    ) -> None:
        if spec.network not in NETWORK_MODES:
            raise ValueError(
                f'network must be one of {NETWORK_MODES}, got {spec.network!r}'
            )
        if count < 1:
            raise ValueError(f'workers must be >= 1, got {count}')
        if (spec.network == 'shared') != (network is not None):
            raise ValueError('a shared network runs in the main process')
        self.spec = spec
        self.count = count
        self.network = network
        self.batch_size = batch_size
        self._ctx = multiprocessing.get_context('spawn')
        # Each frame's rows are one message: a few batches in flight.
        self.results = self._ctx.Queue(maxsize=max(4, 2 * batch_size))
        self.tasks: Dict[int, object] = {}
        self.procs: Dict[int, object] = {}
        self.ready: Dict[int, bool] = {}
        self.holding: Dict[int, Optional[int]] = {}
        self.spawned: Dict[int, float] = {}
        self.inputs: list = []

    def _spawn(self, slot: int) -> None:
        self.tasks[slot] = self._ctx.Queue()
        proc = self._ctx.Process(
            target=_worker,
            args=(
                slot,
                self.spec,
                self.tasks[slot],
                self.results,
                os.getpid(),
            ),
            name=f'au-worker-{slot}',
            daemon=True,
        )
        proc.start()
        self.spawned[slot] = time.monotonic()
        self.procs[slot] = proc
        self.ready[slot] = False
        self.holding[slot] = None

    def run(self, recorder: RunRecorder) -> None:
        """Read every pending input of ``recorder``; returns when all are
        done or failed.

        Raises:
            WorkerStartError: A worker could not start.
        """
        todo = list(recorder.todo)
        if not todo:
            return
        self.inputs = recorder.inputs
        for slot in range(min(self.count, len(todo))):
            self._spawn(slot)
        pending: List[Tuple[int, list]] = []
        remaining = len(todo)
        checked = time.monotonic()
        try:
            while remaining:
                if time.monotonic() - checked > 1.0:
                    remaining -= self._check_workers(recorder, todo)
                    checked = time.monotonic()
                try:
                    msg = self.results.get(timeout=0.5)
                except queue.Empty:
                    self._flush(recorder, pending)
                    continue
                kind, slot = msg[0], msg[1]
                if kind == 'init_failed':
                    raise WorkerStartError(
                        f'a worker process could not start: {msg[2]}'
                    )
                if kind == 'ready':
                    self.ready[slot] = True
                    if msg[2] and recorder.au_names is None:
                        recorder.au_names = [
                            f'AU{a:02d}' for a in msg[2]['au_ids']
                        ]
                        recorder.column_groups = au_column_groups(
                            msg[2]['occurrence'], msg[2]['intensity']
                        )
                    self._assign(slot, todo)
                elif kind == 'start':
                    recorder.start(msg[2], msg[3], slot)
                elif kind == 'rows':
                    pending.append((msg[2], msg[3]))
                    faces = sum(
                        s is not None for _, group in pending for _, s in group
                    )
                    if faces >= self.batch_size or self.results.empty():
                        self._flush(recorder, pending)
                else:  # done / failed
                    self._flush(recorder, pending)
                    if kind == 'done':
                        recorder.done(msg[2])
                    else:
                        recorder.fail(msg[2], msg[3])
                    remaining -= 1
                    self.holding[slot] = None
                    self._assign(slot, todo)
            self._flush(recorder, pending)
        finally:
            self.close()

    def _assign(self, slot: int, todo: List[int]) -> None:
        if todo:
            index = todo.pop(0)
            self.holding[slot] = index
            self.tasks[slot].put((index, self.inputs[index]))
        else:
            self.tasks[slot].put(None)

    def _flush(self, recorder: RunRecorder, pending) -> None:
        """The network over the pending rows' samples (shared mode), then
        their rows, in arrival order."""
        if not pending:
            return
        if self.network is not None:
            pairs = [(p, s) for _, group in pending for p, s in group]
            pairs = [(p, s) for p, s in pairs if s is not None]
            for i in range(0, len(pairs), self.batch_size):
                chunk = pairs[i : i + self.batch_size]
                output = self.network.predict([s for _, s in chunk])
                output.set_on([p for p, _ in chunk], self.network.threshold)
        for index, group in pending:
            recorder.write(index, [p for p, _ in group])
        pending.clear()

    def _check_workers(self, recorder: RunRecorder, todo: List[int]) -> int:
        """Fail the input of a worker that died, and replace the worker
        while inputs wait; returns how many inputs that failed."""
        failed = 0
        for slot, proc in list(self.procs.items()):
            if proc.exitcode is None:
                if (
                    not self.ready[slot]
                    and time.monotonic() - self.spawned[slot] > START_TIMEOUT
                ):
                    raise WorkerStartError(
                        f'a worker process did not start in '
                        f'{START_TIMEOUT:.0f} s'
                    )
                continue
            if not self.ready[slot]:
                raise WorkerStartError(
                    'a worker process could not start (exit code '
                    f'{proc.exitcode})'
                )
            index = self.holding[slot]
            del self.procs[slot]
            if index is not None:
                recorder.fail(
                    index,
                    'the worker process reading it ended unexpectedly (exit '
                    f'code {proc.exitcode})',
                )
                failed += 1
            if todo:  # inputs wait: a new worker takes this one's place
                self._spawn(slot)
        return failed

    def close(self) -> None:
        for slot, proc in self.procs.items():
            if proc.is_alive():
                self.tasks[slot].put(None)
        for proc in self.procs.values():
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        self.procs.clear()


def default_threads(workers: int) -> int:
    """Torch threads per replicated worker: the cores shared out."""
    cores = len(os.sched_getaffinity(0))
    return max(1, cores // max(1, workers))
