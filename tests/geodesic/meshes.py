"""Small meshes whose geodesics are known exactly (test fixtures)."""
import numpy as np

from geoconv_mm.geodesic import FaceSurface


def grid_mesh(x0, x1, y0, y1, step, height=None, hole=None):
    """Triangulated height field z = height(x, y) on a regular grid.

    Args:
        hole (tuple, optional): (xa, xb, ya, yb): triangles inside are removed.

    Returns:
        tuple: vertices (V, 3) float64, faces (F, 3) int32 (unused vertices dropped).
    """
    xs = np.arange(x0, x1 + 1e-9, step)
    ys = np.arange(y0, y1 + 1e-9, step)
    gx, gy = np.meshgrid(xs, ys)
    z = np.zeros_like(gx) if height is None else height(gx, gy)
    v = np.stack([gx.ravel(), gy.ravel(), z.ravel()], 1)
    nx = len(xs)
    faces = []
    for r in range(len(ys) - 1):
        for c in range(nx - 1):
            a, b, d, e = r * nx + c, r * nx + c + 1, (r + 1) * nx + c, (r + 1) * nx + c + 1
            # Alternate the diagonal so the mesh has no preferred direction.
            if (r + c) % 2 == 0:
                faces += [(a, e, b), (a, d, e)]
            else:
                faces += [(a, d, b), (b, d, e)]
    f = np.array(faces, np.int32)
    if hole is not None:
        xa, xb, ya, yb = hole
        cen = v[f].mean(1)
        inside = (cen[:, 0] > xa) & (cen[:, 0] < xb) & (cen[:, 1] > ya) & (cen[:, 1] < yb)
        f = f[~inside]
    used = np.unique(f)
    remap = -np.ones(len(v), np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[f].astype(np.int32)


def surface(v, f, size):
    return FaceSurface(v, f, size)


def cylinder(radius, size, step=1.0, cx=None):
    """Cylinder with a vertical axis seen from the front (z toward the camera)."""
    h, w = size
    cx = w / 2 - 0.5 if cx is None else cx
    n = int(np.ceil(np.pi * radius / step))
    theta = np.linspace(-np.pi / 2 + 0.05, np.pi / 2 - 0.05, n)
    ys = np.arange(-1.0, h + 1.0, step)
    gt, gy = np.meshgrid(theta, ys)
    v = np.stack([cx + radius * np.sin(gt).ravel(), gy.ravel(),
                  radius * np.cos(gt).ravel()], 1)
    nt = len(theta)
    faces = []
    for r in range(len(ys) - 1):
        for c in range(nt - 1):
            a, b, d, e = r * nt + c, r * nt + c + 1, (r + 1) * nt + c, (r + 1) * nt + c + 1
            faces += [(a, e, b), (a, d, e)]
    return FaceSurface(v, np.array(faces, np.int32), size)


def hemisphere(radius, size, n_rings=48, n_seg=128):
    """Sphere cap z >= 0 facing the camera, centred in the image."""
    h, w = size
    c = np.array([w / 2 - 0.5, h / 2 - 0.5])
    verts = [(c[0], c[1], radius)]
    polar = np.linspace(0, np.pi / 2 - 0.02, n_rings + 1)[1:]
    az = np.linspace(0, 2 * np.pi, n_seg, endpoint=False)
    for p in polar:
        for a in az:
            verts.append((c[0] + radius * np.sin(p) * np.cos(a),
                          c[1] + radius * np.sin(p) * np.sin(a), radius * np.cos(p)))
    faces = []
    for k in range(n_seg):
        faces.append((0, 1 + k, 1 + (k + 1) % n_seg))
    for r in range(n_rings - 1):
        base, nxt = 1 + r * n_seg, 1 + (r + 1) * n_seg
        for k in range(n_seg):
            a, b = base + k, base + (k + 1) % n_seg
            d, e = nxt + k, nxt + (k + 1) % n_seg
            faces += [(a, d, e), (a, e, b)]
    return FaceSurface(np.array(verts), np.array(faces, np.int32), size)
