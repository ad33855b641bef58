"""Every face drawn with its id and AU bars (intensity bars for a model
with an intensity head); the timelines: one panel per face, intensities
beside the probabilities."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from geoconv_mm.visualization import (
    PANEL_WIDTH,
    draw_au_faces,
    face_colour,
    plot_au_timeline,
    plot_au_timeline_faces,
)
from geoconv_mm.visualization.au_frames import INTENSITY_COLOUR
from geoconv_mm.visualization.au_timeline import (
    au_timeline_faces_figure,
    au_timeline_figure,
)

NAMES = ['AU01', 'AU02', 'AU12']


def face(face_id, box, probs, intensities=None):
    return SimpleNamespace(
        success=True,
        face_id=face_id,
        box=np.asarray(box, float),
        probabilities=None if probs is None else np.asarray(probs, float),
        intensities=None
        if intensities is None
        else np.asarray(intensities, float),
    )


def colour_pixels(img, colour):
    return (np.abs(img.astype(int) - colour).sum(-1) <= 6).sum()


def test_boxes_ids_and_fixed_width():
    image = np.full((240, 320, 3), 90, np.uint8)
    faces = [
        face(0, (20, 20, 120, 120), [0.9, 0.1, 0.6]),
        face(7, (180, 60, 300, 200), [0.2, 0.8, 0.4]),
    ]
    none = SimpleNamespace(
        success=False,
        face_id=None,
        box=None,
        probabilities=None,
        intensities=None,
    )
    out = draw_au_faces(image, faces + [none], NAMES, height=480)
    # Scaled 2x: each face's box is drawn in its own colour at its place.
    assert out.shape == (480, 640 + PANEL_WIDTH, 3)
    for f in faces:
        x0, y0, x1, y1 = (int(v * 2) for v in f.box)
        c = face_colour(f.face_id)
        edge = out[y0 - 1 : y0 + 2, x0:x1]
        assert colour_pixels(edge, c) > 0.5 * edge.shape[1]
        inside = out[y0 + 8 : y1 - 8, x0 + 8 : x1 - 8]
        assert colour_pixels(inside, c) == 0
    assert face_colour(0) != face_colour(7)
    # The width does not depend on how many faces the frame holds.
    for some in ([], faces[:1], faces * 6):
        assert draw_au_faces(image, some, NAMES).shape == out.shape
    panel = out[:, 640:]
    # Detected AUs (p >= 0.5) are green bars: 2 + 1.
    green = (panel[..., 1] == 180) & (panel[..., 0] == 60)
    rows = np.flatnonzero(green.any(1))
    runs = 1 + (np.diff(rows) > 1).sum()
    assert runs == 3


def test_one_timeline_panel_per_face(tmp_path):
    t = np.arange(10) / 10
    probs = {
        0: np.tile([0.2, 0.5, 0.9], (10, 1)),
        3: np.where(np.arange(10)[:, None] < 5, 0.4, np.nan) * np.ones(3),
    }
    one, two = tmp_path / 'one.png', tmp_path / 'two.png'
    plot_au_timeline_faces(str(one), t, {0: probs[0]}, NAMES)
    plot_au_timeline_faces(str(two), t, probs, NAMES)
    a, b = cv2.imread(str(one)), cv2.imread(str(two))
    assert a is not None and b is not None
    assert b.shape[0] > 1.5 * a.shape[0]  # a second panel
    with pytest.raises(ValueError, match='face 3'):
        plot_au_timeline_faces(str(one), t, {3: probs[3][:4]}, NAMES)
    with pytest.raises(ValueError, match='no face'):
        plot_au_timeline_faces(str(one), t, {}, NAMES)


def extents(mask):
    """(first row, x extent) of each run of rows holding ``mask`` pixels."""
    rows = np.flatnonzero(mask.any(1))
    if not len(rows):
        return []
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    out = []
    for run in runs:
        cols = np.flatnonzero(mask[run].any(0))
        out.append((int(run[0]), int(cols[-1] - cols[0] + 1)))
    return out


def test_intensity_bars_measure_the_intensities():
    image = np.full((240, 320, 3), 90, np.uint8)
    levels = [5.0, 0.0, 2.5]
    joint = face(0, (20, 20, 120, 120), [0.9, 0.1, 0.6], levels)
    bar_w = PANEL_WIDTH - 70  # the bars' full length (intensity 5)
    orange = np.array(INTENSITY_COLOUR)
    for probs in ([0.9, 0.1, 0.6], None):
        f = face(0, (20, 20, 120, 120), probs, levels)
        panel = draw_au_faces(image, [f], NAMES, height=480)[:, 640:]
        runs = extents(np.abs(panel.astype(int) - orange).sum(-1) == 0)
        assert len(runs) == 3
        widths = [w for _, w in runs]
        # cv2 draws a zero-length bar as a one-pixel line.
        assert widths == [int(bar_w * v / 5) + 1 for v in levels]
        green = (panel[..., 1] == 180) & (panel[..., 0] == 60)
        assert green.any() == (probs is not None)
    # The probability bar keeps the upper part of its row: green above
    # orange in the first AU's row.
    panel = draw_au_faces(image, [joint], NAMES, height=480)[:, 640:]
    green_rows = np.flatnonzero(
        ((panel[..., 1] == 180) & (panel[..., 0] == 60)).any(1)
    )
    orange_rows = np.flatnonzero(
        (np.abs(panel.astype(int) - orange).sum(-1) == 0).any(1)
    )
    assert green_rows[0] < orange_rows[0]


def test_timeline_of_a_joint_model_shows_intensity_over_time(tmp_path):
    t = np.arange(8) / 8
    success = np.arange(8) != 3
    probs = np.tile([0.2, 0.5, 0.9], (8, 1))
    levels = np.stack([np.linspace(0, 5, 8), np.full(8, 2.0), t * 4], 1)
    probs[~success] = levels[~success] = np.nan
    fig = au_timeline_figure(t, probs, success, NAMES, 0.5, levels)
    axes = np.array(fig.axes[: 2 * len(NAMES)]).reshape(len(NAMES), 2)
    for i in range(len(NAMES)):
        p_ax, r_ax = axes[i]
        assert p_ax.get_ylim() == (0, 1) and r_ax.get_ylim() == (0, 5)
        curve, threshold = p_ax.lines
        np.testing.assert_array_equal(curve.get_ydata(), probs[:, i])
        assert list(threshold.get_ydata()) == [0.5, 0.5]
        (curve,) = r_ax.lines  # no threshold on the intensities
        np.testing.assert_array_equal(curve.get_ydata(), levels[:, i])
    assert 'intensity (0-5)' in axes[0, 1].get_title()
    # A model without occurrence: the intensities alone.
    fig = au_timeline_figure(t, None, success, NAMES, None, levels)
    assert len(fig.axes) == len(NAMES)
    assert all(ax.get_ylim() == (0, 5) for ax in fig.axes)
    with pytest.raises(ValueError, match='neither'):
        au_timeline_figure(t, None, success, NAMES)
    with pytest.raises(ValueError, match='intensity'):
        au_timeline_figure(t, probs, success, NAMES, 0.5, levels[:4])
    # The PNG: a second column of panels makes it wider.
    one, two = tmp_path / 'one.png', tmp_path / 'two.png'
    plot_au_timeline(str(one), t, probs, success, NAMES)
    plot_au_timeline(str(two), t, probs, success, NAMES, 0.5, levels)
    a, b = cv2.imread(str(one)), cv2.imread(str(two))
    assert b.shape[1] > 1.2 * a.shape[1]


def test_faces_timeline_gives_each_face_its_intensities():
    t = np.arange(6) / 6
    probs = {0: np.full((6, 3), 0.3), 4: np.full((6, 3), np.nan)}
    probs[4][2:] = 0.7
    levels = {0: np.tile([0.0, 2.5, 5.0], (6, 1)), 4: probs[4] * 5}
    fig = au_timeline_faces_figure(t, probs, NAMES, 0.5, levels)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 4  # 2 faces x (probability, intensity)
    grid = np.array(panels).reshape(2, 2)
    for r, face_id in enumerate((0, 4)):
        for c, (values, top) in enumerate(
            ((probs[face_id], 1), (levels[face_id], 5))
        ):
            image = grid[r, c].images[0]
            assert image.get_clim() == (0, top)
            shown = np.ma.filled(image.get_array().astype(float), np.nan)
            np.testing.assert_array_equal(shown, values.T)
    fig = au_timeline_faces_figure(t, None, NAMES, None, levels)
    assert len([ax for ax in fig.axes if ax.images]) == 2
    with pytest.raises(ValueError, match='face 4'):
        au_timeline_faces_figure(t, probs, NAMES, 0.5, {0: levels[0]})
