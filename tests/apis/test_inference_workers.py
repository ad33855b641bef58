"""The worker pool: a worker that dies while reading an input fails that
input, a new worker takes its place and the other inputs are done; the
shared network fills the workers' rows; workers end with a main process
killed by SIGKILL."""

import csv
import os
import signal
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

pytest.importorskip('mediapipe')

from geoconv_mm.apis import AUNetworkOutput, au_column_groups  # noqa: E402
from geoconv_mm.apis.au_front_end import face_pipeline_config  # noqa: E402
from geoconv_mm.apis.inference_inputs import InferenceInput  # noqa: E402
from geoconv_mm.apis.inference_run import (  # noqa: E402
    RunRecorder,
    summary_path,
)
from geoconv_mm.apis.inference_workers import (  # noqa: E402
    WorkerPool,
    WorkerSpec,
)
from tests.fixtures.processes import (  # noqa: E402
    become_subreaper,
    isolated,
    kill_group,
    run_python,
    still_alive,
)


@dataclass(frozen=True)
class DyingInput(InferenceInput):
    """An input whose reading kills the worker process."""

    def open(self, fps=30.0, max_frames=None):
        os._exit(3)


class MeanNetwork:
    """Stands in for the shared network: AU probabilities from each face
    crop's mean intensity, the same in every process."""

    threshold = 0.5

    def predict(self, samples):
        return AUNetworkOutput(
            np.stack(
                [
                    np.full(6, float(s['inputs'].float().mean()) / 255)
                    for s in samples
                ]
            )
        )


def test_a_dying_worker_fails_its_input_only(
    model_files, astronaut_bgr, tmp_path
):
    config, _ = model_files
    video = tmp_path / 'clip.avi'
    face = cv2.resize(astronaut_bgr, (256, 256))
    writer = cv2.VideoWriter(
        str(video), cv2.VideoWriter_fourcc(*'MJPG'), 25.0, (256, 256)
    )
    for i in range(3):
        writer.write(np.roll(face, 3 * i, axis=1))
    writer.release()
    from tests.fixtures.au_model import AU_IDS

    network = _network(config)
    face_cfg = face_pipeline_config(network.input_size)
    spec = WorkerSpec.shared(network, face_cfg)
    inputs = [
        DyingInput('video', 'dies.avi', 'dies'),
        InferenceInput('video', str(video), 'clip'),
    ]
    out = tmp_path / 'out'
    names = [f'AU{a:02d}' for a in AU_IDS]
    recorder = RunRecorder(
        inputs, str(out), names, au_column_groups(), progress=False
    )
    WorkerPool(spec, 1, MeanNetwork(), batch_size=2).run(recorder)
    recorder.close()
    rows = {r['csv']: r for r in recorder.rows}
    assert rows['dies.csv']['status'] == 'failed'
    assert 'ended unexpectedly (exit code 3)' in rows['dies.csv']['reason']
    assert rows['clip.csv']['status'] == 'done'
    assert rows['clip.csv']['frames'] == 3 and rows['clip.csv']['faces'] == 3
    with open(out / 'clip.csv', newline='') as f:
        table = list(csv.DictReader(f))
    assert [r['success'] for r in table] == ['1', '1', '1']
    for r in table:  # the shared network's values, thresholded there
        p = float(r['AU01_p'])
        assert 0 < p < 1 and r['AU01_c'] == str(int(p >= 0.5))
    assert os.path.isfile(summary_path(str(out)))


def _network(config):
    from geoconv_mm.apis import AUInferencer

    inf = AUInferencer(config, None, device='cpu', au_ids=[1, 2, 4, 6, 12, 25])
    return inf.network


# A main process that starts one replicated worker, waits until the worker
# has built its model, prints the worker's pid and its own process group, and
# kills itself.
KILLED_MAIN = """
import os, signal
from geoconv_mm.apis.inference_workers import WorkerPool, WorkerSpec
spec = WorkerSpec(
    'replicated',
    dict(config={config!r}, device='cpu', au_ids=[1, 2, 4, 6, 12, 25]),
)
pool = WorkerPool(spec, 1)
pool._spawn(0)
message = pool.results.get(timeout=180)
assert message[0] == 'ready', message
print(pool.procs[0].pid, os.getpgid(0), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@isolated(300)
def test_workers_end_with_a_main_process_killed_by_sigkill(model_files):
    become_subreaper()  # the orphaned worker is ours, not the sandbox's
    config, _ = model_files
    res = run_python(KILLED_MAIN.format(config=config), 240, leave_group=True)
    assert res.returncode == -signal.SIGKILL, res.stderr[-3000:]
    worker, group = map(int, res.stdout.split())
    try:
        assert still_alive([worker], within=20) == []
    finally:
        kill_group(group)
