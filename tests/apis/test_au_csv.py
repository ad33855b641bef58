"""The CSV's AU columns follow the model's outputs: ``AUxx_c`` and
``AUxx_p`` for an occurrence head (the table as it always was), ``AUxx_r``
before them for a joint occurrence + intensity head, ``AUxx_r`` alone for
an intensity head; intensities are the head's, clipped to OpenFace's 0-5
scale, checked against the network's raw outputs."""

import csv

import numpy as np
import pytest
import torch

pytest.importorskip('mediapipe')

from geoconv_mm.apis import (  # noqa: E402
    AUInferencer,
    au_column_groups,
    au_csv_columns,
    write_au_csv,
)
from geoconv_mm.utils.frame_io import Frame  # noqa: E402
from tests.fixtures.demo_models import (  # noqa: E402
    DEMO,
    INTENSITY_ONLY,
    JOINT_DEMO,
    save_demo_model,
)

#: (config, suffixes of the AU column groups, in the table's order).
KINDS = {
    'occurrence': (DEMO, ['c', 'p']),
    'joint': (JOINT_DEMO, ['r', 'c', 'p']),
    'intensity': (INTENSITY_ONLY, ['r']),
}
# Raw intensity outputs pushed out of the scale at AUs 0 and 1, so that the
# CSV shows the clipping.
FAR_ABOVE, FAR_BELOW = 40.0, -40.0


@pytest.fixture(scope='module')
def runs(tmp_path_factory, astronaut_bgr):
    """``runs(kind)``: the kind's inferencer, frames, predictions and CSV
    rows, computed once."""
    cache = {}

    def run(name):
        if name not in cache:
            cache[name] = _run(name, tmp_path_factory, astronaut_bgr)
        return cache[name]

    return run


def _run(name, tmp_path_factory, astronaut_bgr):
    config, _ = KINDS[name]
    root = tmp_path_factory.mktemp(name)
    config, checkpoint = save_demo_model(config, root)
    inferencer = AUInferencer(config, checkpoint, device='cpu')
    head = inferencer.model.head
    if head.predicts_intensity:
        fc = getattr(head, 'intensity', head).fc
        with torch.no_grad():
            fc.bias[0], fc.bias[1] = FAR_ABOVE, FAR_BELOW
    frames = [
        Frame(0, 0.0, astronaut_bgr, 'face'),
        Frame(1, 0.1, np.full_like(astronaut_bgr, 90), 'blank'),
        Frame(2, 0.2, np.ascontiguousarray(astronaut_bgr[:, ::-1]), 'flip'),
    ]
    preds = list(inferencer.iter_predictions(frames))
    path = root / 'rows.csv'
    write_au_csv(
        str(path), preds, inferencer.au_names, inferencer.column_groups
    )
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    return inferencer, frames, preds, rows


def raw_intensities(inferencer, frame):
    """The intensity layer's own output for the frame's face, unclipped: the
    model's 'tensor' mode, not its predict."""
    model = inferencer.model
    (pair,) = inferencer.front_end.preprocess(frame)
    data = model.data_preprocessor(
        dict(
            inputs=[pair[1]['inputs']],
            data_samples=[pair[1]['data_samples']],
        ),
        False,
    )
    with torch.no_grad():
        out = model(
            data['inputs'], mode='tensor', geo_weights=data['geo_weights']
        )
    raw = out[1] if isinstance(out, tuple) else out
    return raw[0].numpy()


@pytest.mark.parametrize('name', list(KINDS))
def test_columns_follow_the_outputs(runs, name):
    inferencer, _, preds, rows = runs(name)
    suffixes = KINDS[name][1]
    names = inferencer.au_names
    assert [g.suffix for g in inferencer.column_groups] == suffixes
    assert list(rows[0]) == au_csv_columns(names, inferencer.column_groups)
    if name == 'occurrence':  # exactly the table of an occurrence model
        assert list(rows[0]) == au_csv_columns(names)
        assert all(p.intensities is None for p in preds)
    au_columns = list(rows[0])[-len(suffixes) * len(names) :]
    assert au_columns == [f'{n}_{s}' for s in suffixes for n in names]
    assert [r['status'] for r in rows] == ['ok', 'no_face', 'ok']
    assert all(rows[1][c] == '' for c in au_columns)
    if name == 'intensity':
        assert inferencer.threshold is None
        assert all(p.probabilities is None for p in preds)


@pytest.mark.parametrize('name', ['joint', 'intensity'])
def test_intensities_are_the_clipped_head_outputs(runs, name):
    inferencer, frames, preds, rows = runs(name)
    names = inferencer.au_names
    inferencer.front_end.start(False)
    for frame, pred, row in zip(frames, preds, rows):
        if not pred.success:
            continue
        got = np.array([float(row[f'{n}_r']) for n in names])
        assert ((0 <= got) & (got <= 5)).all()
        raw = raw_intensities(inferencer, frame)
        assert raw[0] > 5 and raw[1] < 0  # the clipping is exercised
        np.testing.assert_allclose(got, np.clip(raw, 0, 5), atol=6e-5)
        assert row[f'{names[0]}_r'] == '5.0000'
        assert row[f'{names[1]}_r'] == '0.0000'
        inside = (raw > 0.1) & (raw < 4.9)
        assert inside.sum() >= 3  # values inside the scale, not only ends
        np.testing.assert_allclose(pred.intensities, got, atol=6e-5)


def test_column_groups_of_each_output_set():
    assert [g.suffix for g in au_column_groups()] == ['c', 'p']
    assert [g.suffix for g in au_column_groups(True, True)] == ['r', 'c', 'p']
    assert [g.suffix for g in au_column_groups(False, True)] == ['r']
    assert au_column_groups(False, False) == ()
