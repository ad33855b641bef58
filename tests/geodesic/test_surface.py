"""FaceSurface records, rasterisation, depth and topology."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.face import facemesh_faces
from geoconv_mm.geodesic import (
    DegenerateMeshError,
    FaceSurface,
    rasterize,
    render_depth,
)
from geoconv_mm.geodesic._ext import geometry_ext_available, load_geometry_ext
from geoconv_mm.geodesic.topology import (
    boundary_loops,
    close_holes,
    triangles_from_edges,
)
from tests.fixtures.meshes import grid_mesh


def test_save_load_roundtrip_is_atomic(tmp_path):
    v, f = grid_mesh(0, 10, 0, 10, 1.0, height=lambda x, y: 0.1 * x * y)
    s = FaceSurface(v, f, (12, 12))
    path = tmp_path / 'sub' / 'rec.npz'
    s.save(str(path))
    assert os.listdir(path.parent) == ['rec.npz']  # no temp file left behind
    t = FaceSurface.load(str(path))
    np.testing.assert_array_equal(t.vertices, s.vertices)
    np.testing.assert_array_equal(t.faces, s.faces)
    assert t.image_size == (12, 12)


def test_corrupt_record_names_the_file(tmp_path):
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(b'garbage')
    with pytest.raises(ValueError, match='bad.npz'):
        FaceSurface.load(str(bad))
    with pytest.raises(FileNotFoundError):
        FaceSurface.load(str(tmp_path / 'missing.npz'))


def test_degenerate_meshes_are_rejected():
    v, f = grid_mesh(0, 4, 0, 4, 1.0)
    v_nan = v.copy()
    v_nan[3, 2] = np.nan
    with pytest.raises(DegenerateMeshError, match='NaN'):
        FaceSurface(v_nan, f, (8, 8)).validate('frame 7')
    with pytest.raises(DegenerateMeshError, match='zero-area'):
        FaceSurface(np.zeros_like(v), f, (8, 8)).validate()
    with pytest.raises(DegenerateMeshError, match='out of range'):
        FaceSurface(v, f + 100, (8, 8)).validate()


def _areas(v, f):
    """Both areas by the textbook formulas, independent of validate()."""
    v = v.astype(np.float64)
    e1, e2 = v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]
    cross = np.cross(e1, e2)
    return (
        0.5 * np.linalg.norm(cross, axis=1).sum(),
        0.5 * np.abs(cross[:, 2]).sum(),
    )


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    scale_exp=st.floats(-6, 1),
    flatten=st.sampled_from([None, 'image', 'depth', 'line']),
)
def test_zero_area_rule_is_both_areas_above_threshold(
    seed, scale_exp, flatten
):
    # Meshes around the 1e-6 threshold, some flat in the image (every
    # triangle seen edge-on), flat in depth, or collinear.
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(6, 3)) * 10.0**scale_exp
    if flatten == 'image':
        v[:, 1] = 0.3 * v[:, 0]
    elif flatten == 'depth':
        v[:, 2] = 0
    elif flatten == 'line':
        v[:] = np.outer(rng.normal(size=6), rng.normal(size=3))
    f = np.array([[0, 1, 2], [2, 3, 4], [1, 4, 5]], np.int32)
    surface = FaceSurface(v, f, (8, 8))
    area3d, area2d = _areas(surface.vertices, f)
    if area3d > 1e-6 and area2d > 1e-6:
        surface.validate()
    else:
        with pytest.raises(DegenerateMeshError, match='zero-area'):
            surface.validate()


def test_a_validated_surface_is_checked_again_after_any_change():
    v, f = grid_mesh(0, 4, 0, 4, 1.0)
    surface = FaceSurface(v, f, (8, 8)).validate()
    assert surface.validate() is surface
    surface.vertices[3, 2] = np.inf  # in place
    with pytest.raises(DegenerateMeshError, match='NaN or inf'):
        surface.validate()
    surface.vertices = v.copy()
    surface.validate()
    surface.faces = f + 100  # reassigned
    with pytest.raises(DegenerateMeshError, match='out of range'):
        surface.validate()
    surface.faces = f.copy()
    surface.validate()
    surface.image_size = (0, 8)
    with pytest.raises(DegenerateMeshError, match='image_size'):
        surface.validate()
    surface.image_size = (8, 8)
    surface.vertices = np.zeros_like(v).reshape(-1)  # not (V, 3)
    with pytest.raises(DegenerateMeshError, match='vertices must be'):
        surface.validate()


def test_flip_and_transform():
    v, f = grid_mesh(0, 4, 0, 4, 1.0, height=lambda x, y: x + 2 * y)
    s = FaceSurface(v, f, (6, 10))
    flipped = s.flip_horizontal()
    np.testing.assert_allclose(flipped.vertices[:, 0], 9 - v[:, 0])
    np.testing.assert_allclose(flipped.flip_horizontal().vertices, s.vertices)
    # Scale by 2 and shift: x, y follow the affine, z doubles
    # (shape preserved).
    t = s.transform(np.array([[2.0, 0, 1], [0, 2.0, -3]]), (12, 20))
    np.testing.assert_allclose(t.vertices[:, 0], 2 * v[:, 0] + 1, rtol=1e-6)
    np.testing.assert_allclose(t.vertices[:, 1], 2 * v[:, 1] - 3, rtol=1e-6)
    np.testing.assert_allclose(t.vertices[:, 2], 2 * v[:, 2], rtol=1e-6)
    assert t.image_size == (12, 20)


def test_rasterize_single_triangle_and_zbuffer():
    v = np.array(
        [
            [0, 0, 0],
            [10, 0, 0],
            [0, 10, 0],
            [0, 0, 5],
            [10, 0, 5],
            [0, 10, 5.0],
        ]
    )
    f = np.array([[0, 1, 2], [3, 4, 5]])
    tri, bary = rasterize(v, f, (12, 12))
    # Pixel (row 2, col 3) = point (3, 2): inside, the nearer triangle (z = 5)
    # wins.
    assert tri[2, 3] == 1
    np.testing.assert_allclose(bary[2, 3], [0.5, 0.3, 0.2], atol=1e-6)
    assert tri[9, 9] == -1  # beyond the hypotenuse
    tri_off, _ = rasterize(v, f, (12, 12), offset=0.5)
    assert (
        tri_off[9, 0] == 1 and tri_off[9, 1] == -1
    )  # (0.5, 9.5) in, (1.5, 9.5) out


@pytest.mark.skipif(
    not geometry_ext_available(), reason='needs the compiled kernels'
)
def test_compiled_rasterizer_matches_numpy(astronaut):
    import torch

    s = astronaut.surface
    for offset in (0.0, 0.5):
        tri, bary = rasterize(s.vertices, s.faces, (224, 224), offset)
        t2, b2 = load_geometry_ext().rasterize_mesh(
            torch.from_numpy(s.vertices.astype(np.float64)),
            torch.from_numpy(s.faces),
            224,
            224,
            offset,
        )
        np.testing.assert_array_equal(t2.numpy(), tri)
        np.testing.assert_allclose(b2.numpy(), bary, atol=1e-6)


def test_render_depth_of_a_tilted_plane():
    v, f = grid_mesh(-1, 9, -1, 9, 1.0, height=lambda x, y: 0.5 * x + 3)
    depth = render_depth(FaceSurface(v, f, (8, 8)))
    xs = np.arange(8)
    # z - min z = 0.5 * x - 0.5 * (-1)
    np.testing.assert_allclose(
        depth, np.broadcast_to(0.5 * xs + 0.5, (8, 8)), atol=1e-5
    )


def test_facemesh_topology():
    pytest.importorskip('mediapipe')
    f = facemesh_faces()
    assert f.shape == (852, 3)
    loops = boundary_loops(f)
    assert len(loops) == 4  # face oval, mouth, two eyes
    # Consistent orientation: every directed edge appears once.
    directed = {
        (a, b)
        for t in f
        for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))
    }
    assert len(directed) == 3 * len(f)
    assert facemesh_faces() is f  # computed once


def test_triangles_from_edges_and_hole_filling():
    # A 3x3 grid of squares, the middle square removed: a ring with one hole.
    v, f = grid_mesh(0, 3, 0, 3, 1.0, hole=(1, 2, 1, 2))
    edges = {
        (min(a, b), max(a, b))
        for t in f
        for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))
    }
    g = triangles_from_edges(edges)
    assert {tuple(sorted(t)) for t in g} == {tuple(sorted(t)) for t in f}
    assert len(boundary_loops(g)) == 2
    filled = close_holes(v, g)
    assert len(filled) == len(g) + 2 and len(boundary_loops(filled)) == 1


def _write_archive(path: str, arrays: dict, writer: str) -> None:
    """An .npz as np.savez / np.savez_compressed write it, or through zipfile
    with the options the fast reader hands back to zipfile (a comment, zip64
    records)."""
    import io
    import zipfile

    if writer == 'savez':
        np.savez(path, **arrays)
        return
    if writer == 'savez_compressed':
        np.savez_compressed(path, **arrays)
        return
    method = zipfile.ZIP_STORED if writer == 'stored' else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, 'w', method) as z:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.save(buf, a)
            with z.open(f'{name}.npy', 'w', force_zip64=True) as fh:
                fh.write(buf.getvalue())
        if writer == 'comment':
            z.comment = b'a comment'


def _random_array(rng, dtype: str, shape: list, fortran: bool) -> np.ndarray:
    a = (np.asarray(rng.rand(*shape)) * 100).astype(dtype)
    return np.asfortranarray(a) if fortran else a


WRITERS = ('savez', 'savez_compressed', 'stored', 'deflated', 'comment')


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(['<f4', '<f8', '<i4', '<i8', '>f4', '|u1', '|b1']),
    shape=st.lists(st.integers(0, 5), min_size=0, max_size=3),
    fortran=st.booleans(),
    writer=st.sampled_from(WRITERS),
)
def test_read_npz_matches_np_load(dtype, shape, fortran, writer):
    import tempfile

    from geoconv_mm.geodesic.surface import read_npz

    a = _random_array(np.random.RandomState(len(shape)), dtype, shape, fortran)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'a.npz')
        _write_archive(path, dict(a=a, b=a.T), writer)
        got = read_npz(path, ('a', 'b'))
        with np.load(path) as ref:
            for k in ('a', 'b'):
                assert got[k].dtype == ref[k].dtype
                assert got[k].shape == ref[k].shape
                np.testing.assert_array_equal(got[k], ref[k])
                assert got[k].flags.writeable
        with pytest.raises(KeyError):
            read_npz(path, ('c',))


@settings(max_examples=60, deadline=None)
@given(
    writer=st.sampled_from(WRITERS),
    where=st.floats(0, 1, exclude_max=True),
    flip=st.integers(1, 255),
)
def test_read_npz_never_returns_a_changed_array(writer, where, flip):
    """One corrupted byte anywhere in an archive: an error, or the arrays
    as written (bytes no array depends on, such as a timestamp)."""
    import tempfile

    from geoconv_mm.geodesic.surface import read_npz

    arrays = dict(
        vertices=np.random.RandomState(0).rand(40, 3).astype(np.float32),
        faces=np.arange(60, dtype=np.int32).reshape(20, 3),
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'a.npz')
        _write_archive(path, arrays, writer)
        with open(path, 'rb') as fh:
            buf = bytearray(fh.read())
        buf[int(where * len(buf))] ^= flip
        with open(path, 'wb') as fh:
            fh.write(buf)
        try:
            got = read_npz(path, tuple(arrays))
        except Exception:
            return
        for k, a in arrays.items():
            assert got[k].dtype == a.dtype
            np.testing.assert_array_equal(got[k], a)


@settings(max_examples=200, deadline=None)
@given(
    n_vertices=st.integers(3, 40),
    faces=st.lists(
        st.tuples(*[st.integers(-(2**40), 2**40)] * 3), min_size=1, max_size=8
    ),
    in_range=st.booleans(),
)
def test_face_indices_are_checked_before_the_int32_cast(
    n_vertices, faces, in_range
):
    # int64 indices, wrapped into range or not: a surface keeps exactly the
    # given indices or refuses them; a cast never makes another mesh.
    f = np.array(faces, np.int64)
    if in_range:
        f = f % n_vertices
    v = np.random.RandomState(0).rand(n_vertices, 3) * 10
    valid = f.min() >= 0 and f.max() < n_vertices
    if valid:
        s = FaceSurface(v, f, (8, 8))
        assert s.faces.dtype == np.int32
        assert np.array_equal(s.faces.astype(np.int64), f)
    else:
        with pytest.raises(DegenerateMeshError, match='out of range'):
            FaceSurface(v, f, (8, 8))


def test_an_index_past_int32_is_not_wrapped_and_a_fraction_not_cut():
    v, f = grid_mesh(0, 4, 0, 4, 1.0)
    wrapped = f.astype(np.int64)
    wrapped[0, 0] += 2**32  # would become the original index as int32
    with pytest.raises(DegenerateMeshError, match='out of range'):
        FaceSurface(v, wrapped, (8, 8))
    fractional = f.astype(np.float64)
    fractional[0, 0] += 0.6  # would become the original index
    with pytest.raises(DegenerateMeshError, match='must be integers'):
        FaceSurface(v, fractional, (8, 8))
    surface = FaceSurface(v, f, (8, 8)).validate()
    surface.faces = fractional  # reassigned: checked by validate()
    with pytest.raises(DegenerateMeshError, match='must be integers'):
        surface.validate()


def test_coordinates_are_bounded():
    from geoconv_mm.geodesic.surface import MAX_COORDINATE, MAX_IMAGE_SIDE

    v, f = grid_mesh(0, 4, 0, 4, 1.0)
    at = v + (MAX_COORDINATE - 4)  # the largest coordinate is the bound
    FaceSurface(at, f, (8, 8)).validate()
    for axis in range(3):
        far = v.copy()
        far[5, axis] = 3e9
        with pytest.raises(DegenerateMeshError, match=r'3e\+09 px'):
            FaceSurface(far, f, (224, 224)).validate('rec.npz')
    with pytest.raises(DegenerateMeshError, match='image_size'):
        FaceSurface(v, f, (8, MAX_IMAGE_SIDE + 1)).validate()


def test_an_oversized_record_is_refused_before_it_is_inflated(tmp_path):
    from geoconv_mm.geodesic.surface import MAX_RECORD_ARRAY_BYTES

    n = MAX_RECORD_ARRAY_BYTES // 12 + 1  # float32 (n, 3): one row too many
    for writer in ('savez_compressed', 'comment'):  # fast reader, zipfile
        path = str(tmp_path / f'{writer}.npz')
        _write_archive(
            path,
            dict(
                vertices=np.zeros((n, 3), np.float32),
                faces=np.zeros((1, 3), np.int32),
                image_size=np.array([8, 8], np.int32),
            ),
            writer,
        )
        with pytest.raises(
            ValueError,
            match=rf'{writer}\.npz: .*vertices holds \d+ bytes '
            rf'uncompressed, more than the {MAX_RECORD_ARRAY_BYTES}',
        ):
            FaceSurface.load(path)


def test_a_member_larger_than_it_declares_is_refused(tmp_path):
    import zipfile

    from geoconv_mm.geodesic.surface import read_npz

    path = str(tmp_path / 'lying.npz')
    np.savez_compressed(path, a=np.zeros(1000, np.float64))
    with open(path, 'rb') as fh:
        buf = bytearray(fh.read())
    # Halve the declared size in the central directory entry.
    entry = buf.rindex(b'PK\x01\x02')
    size = int.from_bytes(buf[entry + 24 : entry + 28], 'little')
    buf[entry + 24 : entry + 28] = (size // 2).to_bytes(4, 'little')
    with open(path, 'wb') as fh:
        fh.write(buf)
    with pytest.raises(zipfile.BadZipFile, match='size'):
        read_npz(path, ('a',))


def test_a_failure_without_a_message_still_says_what(tmp_path, monkeypatch):
    from geoconv_mm.geodesic import surface as surface_module

    def out_of_memory(path, names):
        raise MemoryError()

    monkeypatch.setattr(surface_module, 'read_npz', out_of_memory)
    with pytest.raises(ValueError, match=r'rec\.npz: .*\(MemoryError\)'):
        FaceSurface.load(str(tmp_path / 'rec.npz'))
