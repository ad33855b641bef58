"""Every face drawn with its id and AU bars; one timeline panel per face."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from geoconv_mm.visualization import (
    PANEL_WIDTH,
    draw_au_faces,
    face_colour,
    plot_au_timeline_faces,
)

NAMES = ['AU01', 'AU02', 'AU12']


def face(face_id, box, probs):
    return SimpleNamespace(
        success=True,
        face_id=face_id,
        box=np.asarray(box, float),
        probabilities=np.asarray(probs, float),
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
        success=False, face_id=None, box=None, probabilities=None
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
