"""SynthAU's face model: a base face from a real photograph, landmarks,
identities.

The base face is MediaPipe's 468-vertex Face Mesh reconstructed from the
astronaut photograph bundled with scikit-image (``skimage.data.astronaut()``,
offline), with the photograph itself as its texture. Shapes live in a
*canonical frame*: the aligned crop of :class:`geoconv_mm.face.FacePipeline`
divided by its size and centred, i.e. x right, y down, z toward the camera, a
face about 0.7 units wide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geoconv_mm.face.holes import hole_loops
from geoconv_mm.utils.atomic_io import atomic_savez

#: Crop size at which the base face is reconstructed (also the texture's size).
TEXTURE_SIZE = 256


@dataclass
class BaseFace:
    """The neutral base face.

    Args:
        vertices (np.ndarray): (V, 3) float64 canonical-frame positions, mouth
            closed.
        faces (np.ndarray): (F, 3) int32 triangles (MediaPipe Face Mesh
            topology).
        texture (np.ndarray): (T, T, 3) uint8 BGR texture (the aligned
            photograph).
        uv (np.ndarray): (V, 2) float32 texture pixel coordinates of each
            vertex.
    """

    vertices: np.ndarray
    faces: np.ndarray
    texture: np.ndarray
    uv: np.ndarray

    def save(self, path: str) -> None:
        """Write the base face to an .npz file atomically."""
        atomic_savez(
            path,
            vertices=self.vertices,
            faces=self.faces,
            texture=self.texture,
            uv=self.uv,
        )

    @classmethod
    def load(cls, path: str) -> 'BaseFace':
        try:
            with np.load(path) as data:
                return cls(
                    data['vertices'],
                    data['faces'],
                    data['texture'],
                    data['uv'],
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(
                f'{path}: not a SynthAU base face record ({exc})'
            ) from exc


def reconstruct_base_face() -> BaseFace:
    """Run the geodesic pipeline's MediaPipe reconstructor on the astronaut
    photo.

    Returns:
        BaseFace: mouth closed (the photographed smile shows the teeth),
            centred.

    Raises:
        ImportError: without mediapipe (requirements/mediapipe.txt).
        RuntimeError: if MediaPipe finds no face in the photograph.
    """
    from geoconv_mm.face import FacePipeline, NoFaceError
    from geoconv_mm.face.samples import astronaut_bgr

    image_bgr = astronaut_bgr()
    pipeline = FacePipeline(
        dict(type='MediaPipeFaceMesh'), crop_size=TEXTURE_SIZE
    )
    try:
        result = pipeline.process(image_bgr, name='skimage.data.astronaut()')
    except NoFaceError as exc:
        raise RuntimeError(f'SynthAU base face: {exc}') from exc
    surface = result.surface
    uv = surface.vertices[:, :2].astype(np.float32)
    v = surface.vertices.astype(np.float64) / TEXTURE_SIZE
    v[:, :2] -= 0.5
    v[:, 2] -= v[:, 2].mean()
    faces = surface.faces.astype(np.int32)
    v = close_mouth(v, faces)
    return BaseFace(v, faces, np.ascontiguousarray(result.crop), uv)


@dataclass
class FaceRegions:
    """Landmarks and soft vertex regions of a face mesh, in its own frame.

    Args:
        anchors (dict): name -> (3,) point; bilateral ones come as ``<name>_l``
            (image left, the subject's right) and ``<name>_r``.
        below_mouth (np.ndarray): (V,) in [0, 1], 1 on the lower lip and jaw, 0
            on the upper lip and above (graph distance to the two arcs of the
            mouth hole).
        below_eye (np.ndarray): (V,) in [0, 1], 1 below the nearer eye's hole.
        mouth_upper (np.ndarray): vertex ids of the upper arc of the mouth
            hole.
        mouth_lower (np.ndarray): vertex ids of the lower arc of the mouth
            hole.
        mouth_loop (np.ndarray): the mouth hole's boundary loop.
        eye_loops (tuple): the two eye holes' loops, image-left first.
        midline_x (float): x of the face's symmetry line.
    """

    anchors: Dict[str, np.ndarray]
    below_mouth: np.ndarray
    below_eye: np.ndarray
    mouth_upper: np.ndarray
    mouth_lower: np.ndarray
    mouth_loop: np.ndarray
    eye_loops: Tuple[np.ndarray, np.ndarray]
    midline_x: float


def split_loop(
    vertices: np.ndarray, loop: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """Upper and lower arcs of a hole, cut at its leftmost and rightmost
    vertices (the corners, which belong to neither arc)."""
    x = vertices[loop, 0]
    a, b = int(np.argmin(x)), int(np.argmax(x))
    n = len(loop)
    first = [loop[(a + k) % n] for k in range(1, (b - a) % n)]
    second = [loop[(b + k) % n] for k in range(1, (a - b) % n)]
    first, second = np.array(first, np.int64), np.array(second, np.int64)
    if vertices[first, 1].mean() < vertices[second, 1].mean():
        return first, second
    return second, first


def _edge_graph(vertices: np.ndarray, faces: np.ndarray) -> csr_matrix:
    e = np.concatenate(
        [faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]
    ).astype(np.int64)
    length = np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=1)
    n = len(vertices)
    g = csr_matrix((length, (e[:, 0], e[:, 1])), shape=(n, n))
    return g.maximum(g.T)


def side_field(
    vertices: np.ndarray,
    faces: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    softness: float,
) -> np.ndarray:
    """(V,) soft 'below the hole' indicator: a logistic of the difference of
    the mesh distances to the hole's upper and lower arcs. Paths run through
    the mesh, so the two lips are far apart even when the mouth is closed."""
    g = _edge_graph(vertices, faces)
    d_up = dijkstra(g, indices=upper, min_only=True)
    d_low = dijkstra(g, indices=lower, min_only=True)
    return 1.0 / (1.0 + np.exp(-(d_up - d_low) / softness))


def close_mouth(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Move the lower lip and jaw until the inner lips meet (a neutral mouth).

    The lower arc of the mouth hole is brought onto the upper arc in y and z
    (the inner lips touch); the correction is spread smoothly over the lower
    face.
    """
    v = vertices.copy()
    mouth, _ = hole_loops(v, faces)
    upper, lower = split_loop(v, mouth)
    below = side_field(v, faces, upper, lower, softness=0.02)
    order = np.argsort(v[upper, 0])
    ux = v[upper, 0][order]

    def on_upper(axis):
        return np.interp(v[lower, 0], ux, v[upper, axis][order])

    # Offset of each lower-arc vertex from the upper arc at the same x, spread
    # over the lower face by a Gaussian in x and gated by `below`.
    delta = np.stack([v[lower, 1] - on_upper(1), v[lower, 2] - on_upper(2)], 1)
    wx = np.exp(-((v[:, None, 0] - v[None, lower, 0]) ** 2) / (2 * 0.03**2))
    shift = (wx @ delta) / np.maximum(wx.sum(1, keepdims=True), 1e-9)
    v[:, 1:] -= below[:, None] * shift
    # Exact contact on the arc, less a hairline opening so that the hole stays
    # a simple, oriented loop.
    v[lower, 1] = on_upper(1) + 1e-3
    v[lower, 2] = on_upper(2)
    return v


def face_regions(vertices: np.ndarray, faces: np.ndarray) -> FaceRegions:
    """Landmarks and soft regions of a (neutral) face mesh.

    Brows come from MediaPipe's published eyebrow vertex sets, everything else
    from the mesh's geometry (holes, extremes), so the anchors follow each
    identity.
    """
    from mediapipe.python.solutions.face_mesh_connections import (
        FACEMESH_FACE_OVAL,
        FACEMESH_LEFT_EYEBROW,
        FACEMESH_NOSE,
        FACEMESH_RIGHT_EYEBROW,
    )

    v = np.asarray(vertices, np.float64)
    mouth, eyes = hole_loops(v, faces)
    upper, lower = split_loop(v, mouth)
    eye_c = [v[lp].mean(0) for lp in eyes]
    mid = 0.5 * (eye_c[0][0] + eye_c[1][0])
    a: Dict[str, np.ndarray] = {}
    corners = sorted(
        (int(i) for i in mouth if i not in set(upper) | set(lower)),
        key=lambda i: v[i, 0],
    )
    a['mouth_corner_l'], a['mouth_corner_r'] = v[corners[0]], v[corners[-1]]
    a['mouth'] = v[mouth].mean(0)
    a['upper_lip'] = v[upper].mean(0) + np.array([0, -0.015, 0])
    a['lower_lip'] = v[lower].mean(0) + np.array([0, 0.015, 0])
    for side, ec in zip('lr', eye_c):
        a[f'eye_{side}'] = ec
    # Image-left brow is the subject's right one.
    for side, conn in (
        ('l', FACEMESH_RIGHT_EYEBROW),
        ('r', FACEMESH_LEFT_EYEBROW),
    ):
        ids = np.array(sorted({i for e in conn for i in e}))
        dist = np.abs(v[ids, 0] - mid)
        a[f'brow_inner_{side}'] = v[ids[np.argsort(dist)[:2]]].mean(0)
        a[f'brow_outer_{side}'] = v[ids[np.argsort(dist)[-2:]]].mean(0)
    a['glabella'] = 0.5 * (a['brow_inner_l'] + a['brow_inner_r'])
    nose = np.array(sorted({i for e in FACEMESH_NOSE for i in e}))
    a['nose_tip'] = v[nose[np.argmax(v[nose, 2])]]
    a['nose_bridge'] = 0.5 * (a['glabella'] + a['nose_tip'])
    low_nose = nose[v[nose, 1] > a['nose_tip'][1] - 0.03]
    a['nose_wing_l'] = v[low_nose[np.argmin(v[low_nose, 0])]]
    a['nose_wing_r'] = v[low_nose[np.argmax(v[low_nose, 0])]]
    oval = np.array(sorted({i for e in FACEMESH_FACE_OVAL for i in e}))
    chin = v[oval[np.argmax(v[oval, 1])]]
    a['chin'] = chin + 0.35 * (a['mouth'] - chin)
    for side in 'lr':
        eye, corner = a[f'eye_{side}'], a[f'mouth_corner_{side}']
        out = -1.0 if side == 'l' else 1.0
        a[f'cheek_{side}'] = (
            eye + 0.45 * (corner - eye) + np.array([0.03 * out, 0, 0])
        )
        a[f'lower_lid_{side}'] = eye + np.array([0, 0.018, 0])
        a[f'dimple_{side}'] = corner + np.array([0.012 * out, 0, 0])
        wing = a[f'nose_wing_{side}']
        a[f'nasolabial_{side}'] = 0.5 * (wing + corner)
    # Snap anchors to the surface depth (nearest vertex's z) so offsets stay on
    # it.
    for name, p in a.items():
        nearest = np.argmin(((v[:, :2] - p[:2]) ** 2).sum(1))
        a[name] = np.array([p[0], p[1], v[nearest, 2]])
    below_eye = np.zeros(len(v))
    near_left = np.abs(v[:, 0] - eye_c[0][0]) < np.abs(v[:, 0] - eye_c[1][0])
    for k, lp in enumerate(eyes):
        up, low = split_loop(v, lp)
        field = side_field(v, faces, up, low, softness=0.01)
        sel = near_left if k == 0 else ~near_left
        below_eye[sel] = field[sel]
    return FaceRegions(
        a,
        side_field(v, faces, upper, lower, softness=0.01),
        below_eye,
        upper,
        lower,
        mouth,
        eyes,
        float(mid),
    )


def sample_identity(
    base: np.ndarray, rng: np.random.Generator, midline_x: float
) -> np.ndarray:
    """A new identity: global proportions and smooth, near-symmetric local
    changes.

    Args:
        base (np.ndarray): (V, 3) canonical base shape.
        rng (np.random.Generator): Source of randomness.
        midline_x (float): x of the symmetry line of ``base``.

    Returns:
        np.ndarray: (V, 3) identity shape, mouth still closed.
    """
    v = base.copy()
    centre = v.mean(0)
    scale = np.array(
        [
            rng.uniform(0.9, 1.1),
            rng.uniform(0.93, 1.07),
            rng.uniform(0.8, 1.25),
        ]
    )
    v = (v - centre) * scale + centre
    disp = np.zeros_like(v)
    for _ in range(6):
        c = base[rng.integers(len(base))]
        amp = rng.normal(0, [0.008, 0.008, 0.015])
        sigma = rng.uniform(0.05, 0.14)
        for sign in (
            1.0,
            -1.0,
        ):  # the mirrored twin keeps the face near-symmetric
            cx = c.copy()
            cx[0] = midline_x + sign * (c[0] - midline_x)
            w = np.exp(-((base - cx) ** 2).sum(1) / (2 * sigma**2))
            disp += w[:, None] * (amp * np.array([sign, 1.0, 1.0]))
    return v + disp
