"""SynthAU's generator: labels match the applied deformations, determinism,
resume, the on-disk format, and subject-exclusive folds."""

import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

pytest.importorskip('mediapipe')

from geoconv_mm.datasets.au_dataset import AUDataset  # noqa: E402
from geoconv_mm.datasets.synthau import (  # noqa: E402
    SYNTHAU_AU_IDS,
    LoadSynthAUFaceSurface,
    SynthAUDataset,
    SynthAUSpec,
    generate_synthau,
    mesh_path,
)
from geoconv_mm.datasets.synthau.action_units import au_displacement  # noqa: E402
from geoconv_mm.datasets.synthau.face_model import (  # noqa: E402
    face_regions,
    reconstruct_base_face,
)
from geoconv_mm.geodesic import FaceSurface  # noqa: E402

# MediaPipe Face Mesh vertex ids (its published topology, independent of
# SynthAU's code): inner-lip midpoints, outer eye corners, mouth corners, inner
# brow ends.
UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
EYE_OUTER = (33, 263)
MOUTH_CORNERS = (61, 291)
BROW_INNER = (107, 336)
AU25 = SYNTHAU_AU_IDS.index(25)

SPEC = SynthAUSpec(
    seed=3, num_subjects=6, images_per_subject=10, image_size=64
)


@pytest.fixture(scope='module')
def build(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthau'))
    return generate_synthau(root, SPEC, progress=False)


@pytest.fixture(scope='module')
def data_list(build):
    with open(osp.join(build, 'annotations', 'synthau.json')) as fh:
        return json.load(fh)['data_list']


def _iod(v):
    return np.linalg.norm(v[EYE_OUTER[0]] - v[EYE_OUTER[1]])


def test_format_is_readable_by_audataset(build, data_list):
    assert len(data_list) == SPEC.num_subjects * SPEC.images_per_subject
    ds = AUDataset(
        ann_file=osp.join(build, 'annotations', 'synthau.json'),
        data_prefix=build,
        pipeline=[],
    )
    assert ds.metainfo['au_ids'] == list(SYNTHAU_AU_IDS)
    info = ds.get_data_info(0)
    img = cv2.imread(info['img_path'])
    assert img.shape == (64, 64, 3)
    surface = FaceSurface.load(info['geo_path'])
    assert surface.image_size == (64, 64)
    assert surface.vertices.shape == (468, 3)
    # The mesh is in the crop's pixel frame: it covers the middle of the image.
    xy = surface.vertices[:, :2]
    assert 0 < xy.min() and xy.max() < 64
    assert abs(xy[:, 0].mean() - 31.5) < 8


def test_mouth_open_exactly_when_au25(data_list, build):
    """The lips' gap in the saved mesh (inner-lip midpoints, in interocular
    units) separates AU25 frames from the others; the generator's labels are
    the truth."""
    gaps, labels = [], []
    for d in data_list:
        v = FaceSurface.load(osp.join(build, d['geo_path'])).vertices.astype(
            np.float64
        )
        gaps.append(
            np.linalg.norm(v[UPPER_INNER_LIP] - v[LOWER_INNER_LIP]) / _iod(v)
        )
        labels.append(d['au_labels'][AU25])
    gaps, labels = np.array(gaps), np.array(labels)
    assert 0 < labels.sum() < len(labels)  # both kinds are present
    # A closed mouth keeps a hairline opening (0.25% of the outer-eye-corner
    # distance); AU25 at its weakest (intensity 0.4, a subject's expressiveness
    # 0.8) parts the inner lips by about 1.7%.
    assert gaps[labels == 0].max() < 0.006, gaps[labels == 0].max()
    assert gaps[labels == 1].min() > 0.012, gaps[labels == 1].min()


def test_images_show_the_open_mouth(data_list, build):
    """Where the mesh has an open mouth, the image shows the dark cavity: the
    pixel between the inner-lip midpoints is darker than the lips around it."""
    diffs = []
    for d in data_list:
        if not d['au_labels'][AU25]:
            continue
        v = FaceSurface.load(osp.join(build, d['geo_path'])).vertices
        gap = v[LOWER_INNER_LIP, 1] - v[UPPER_INNER_LIP, 1]
        if (
            gap < 2.0 or abs(d['pose'][0]) > 10
        ):  # at least 2 px open, near frontal
            continue
        img = (
            cv2.imread(osp.join(build, d['img_path']))
            .astype(np.float64)
            .mean(2)
        )
        mid = np.round(
            (v[UPPER_INNER_LIP, :2] + v[LOWER_INNER_LIP, :2]) / 2
        ).astype(int)
        chin = np.round(v[LOWER_INNER_LIP, :2] + [0, 3]).astype(int)
        diffs.append(img[chin[1], chin[0]] - img[mid[1], mid[0]])
    assert len(diffs) >= 2
    assert np.median(diffs) > 10, diffs


@pytest.fixture(scope='module')
def base_and_regions():
    base = reconstruct_base_face()
    return base, face_regions(base.vertices, base.faces)


@pytest.mark.parametrize('au', SYNTHAU_AU_IDS)
def test_each_au_moves_its_region(base_and_regions, au):
    """Every AU's deformation moves the face in the anatomically expected
    way.
    """
    base, regions = base_and_regions
    v = base.vertices
    d = au_displacement(v, regions, {au: 1.0})
    moved = v + d
    iod = _iod(v)
    assert np.abs(d).max() > 0.01 * iod

    def brow_eye(x):
        return np.mean(
            [
                np.linalg.norm(x[b] - x[e])
                for b, e in zip(BROW_INNER, (133, 362))
            ]
        )

    def lip_gap(x):
        return x[LOWER_INNER_LIP, 1] - x[UPPER_INNER_LIP, 1]

    if au == 1:
        assert (
            d[list(BROW_INNER), 1] < -0.01 * iod
        ).all()  # inner brows go up
    elif au == 4:
        assert brow_eye(moved) < brow_eye(v)
        inner = np.linalg.norm(moved[BROW_INNER[0]] - moved[BROW_INNER[1]])
        assert inner < np.linalg.norm(v[BROW_INNER[0]] - v[BROW_INNER[1]])
    elif au == 12:
        width = np.linalg.norm(
            moved[MOUTH_CORNERS[0]] - moved[MOUTH_CORNERS[1]]
        )
        assert (
            width
            > np.linalg.norm(v[MOUTH_CORNERS[0]] - v[MOUTH_CORNERS[1]])
            + 0.02 * iod
        )
        assert (d[list(MOUTH_CORNERS), 1] < 0).all()  # corners go up
    elif au == 15:
        assert (
            d[list(MOUTH_CORNERS), 1] > 0.01 * iod
        ).all()  # corners go down
    elif au in (6, 14, 17, 23, 24):
        # Mostly depth: the displacement's largest part is along z.
        big = np.argmax(np.linalg.norm(d, axis=1))
        assert abs(d[big, 2]) > np.linalg.norm(d[big, :2])
    if au in (25, 26):
        assert lip_gap(moved) - lip_gap(v) > 0.05 * iod
    else:
        assert (
            abs(lip_gap(moved) - lip_gap(v)) < 0.005 * iod
        )  # the lips stay closed


def _tree_bytes(folder):
    out = {}
    for dirpath, _, files in os.walk(folder):
        for f in files:
            if f.endswith('.lock'):
                continue
            path = osp.join(dirpath, f)
            rel = osp.relpath(path, folder)
            if f.endswith('.npz'):
                with np.load(path) as z:
                    out[rel] = {k: z[k].tobytes() for k in z.files}
            else:
                with open(path, 'rb') as fh:
                    out[rel] = fh.read()
    return out


def test_parallel_build_is_the_serial_build(tmp_path):
    spec = SynthAUSpec(
        seed=3, num_subjects=3, images_per_subject=2, image_size=40
    )
    serial = generate_synthau(
        str(tmp_path / 's'), spec, progress=False, num_workers=1
    )
    parallel = generate_synthau(
        str(tmp_path / 'p'), spec, progress=False, num_workers=2
    )
    assert _tree_bytes(parallel) == _tree_bytes(serial)


def test_deterministic_and_resumable(tmp_path):
    spec = SynthAUSpec(
        seed=5, num_subjects=3, images_per_subject=3, image_size=48
    )
    a = generate_synthau(str(tmp_path / 'a'), spec, progress=False)
    b = generate_synthau(str(tmp_path / 'b'), spec, progress=False)
    ref = _tree_bytes(a)
    # images, meshes and AU-free meshes; manifests; base/summary/ann
    assert len(ref) == 3 * 3 * 3 + 3 + 3
    assert _tree_bytes(b) == ref
    # Interrupt: drop the annotation, one finished subject and a half-written
    # one.
    os.remove(osp.join(b, 'annotations', 'synthau.json'))
    os.remove(osp.join(b, 'subjects', 'S002.json'))
    shutil.rmtree(osp.join(b, 'images', 'S003'))
    os.remove(osp.join(b, 'subjects', 'S003.json'))
    assert generate_synthau(str(tmp_path / 'b'), spec, progress=False) == b
    assert _tree_bytes(b) == ref
    other = generate_synthau(
        str(tmp_path / 'c'),
        SynthAUSpec(
            seed=6, num_subjects=3, images_per_subject=3, image_size=48
        ),
        progress=False,
    )
    with open(osp.join(a, 'annotations', 'synthau.json')) as fa, open(
        osp.join(other, 'annotations', 'synthau.json')
    ) as fo:
        assert json.load(fa)['data_list'] != json.load(fo)['data_list']


def test_subject_exclusive_folds(build, tmp_path):
    root = osp.dirname(build)
    gen = dict(seed=3, num_subjects=6, images_per_subject=10, image_size=64)
    all_subjects = set(SPEC.subjects())
    tests = []
    for fold in (1, 2, 3):
        train = SynthAUDataset(
            data_root=root,
            generator=gen,
            fold=fold,
            split='train',
            pipeline=[],
            progress=False,
        )
        test = SynthAUDataset(
            data_root=root,
            generator=gen,
            fold=fold,
            split='test',
            pipeline=[],
            progress=False,
        )
        tr, te = set(train.get_subjects()), set(test.get_subjects())
        assert tr.isdisjoint(te)
        assert tr | te == all_subjects
        assert len(te) == 2 and len(train) == 40 and len(test) == 20
        tests.append(te)
    # Like BP4D: the three test parts partition the subjects.
    assert set().union(*tests) == all_subjects
    assert sum(len(t) for t in tests) == len(all_subjects)


def test_bad_arguments():
    with pytest.raises(ValueError, match='geometry'):
        SynthAUSpec(geometry='depth')
    with pytest.raises(ValueError, match='num_subjects'):
        SynthAUSpec(num_subjects=2, num_parts=3)
    with pytest.raises(TypeError, match='generator'):
        SynthAUDataset(
            data_root='/nonexistent', generator=dict(seeds=1), pipeline=[]
        )
    with pytest.raises(ValueError, match='ann_file'):
        SynthAUDataset(
            data_root='/nonexistent', ann_file='x.json', pipeline=[]
        )


def test_reconstructed_geometry(tmp_path):
    """geometry='reconstructed': the record is MediaPipe's mesh of the rendered
    image (through FacePipeline), in the pipeline's crop, with the crop as the
    image."""
    spec = SynthAUSpec(
        seed=2,
        num_subjects=3,
        images_per_subject=1,
        image_size=112,
        geometry='reconstructed',
    )
    build = generate_synthau(str(tmp_path), spec, progress=False)
    with open(osp.join(build, 'summary.json')) as fh:
        summary = json.load(fh)
    with open(osp.join(build, 'annotations', 'synthau.json')) as fh:
        data = json.load(fh)['data_list']
    assert len(summary) == 3
    assert len(data) == sum(s['status'] == 'ok' for s in summary) >= 2
    for d in data:
        surface = FaceSurface.load(osp.join(build, d['geo_path']))
        img = cv2.imread(osp.join(build, d['img_path']))
        assert surface.image_size == img.shape[:2] == (112, 112)
        # FacePipeline's template puts the eye-corner midpoint near (0.5, 0.4)
        # W.
        eyes = surface.vertices[list(EYE_OUTER), :2].mean(0)
        assert np.allclose(eyes, [0.5 * 111, 0.4 * 111], atol=8), eyes


def test_reconstructions_kept_beside_the_same_frames(tmp_path):
    """reconstruct=True: the images and ground-truth records are byte for
    byte the default build's, and every kept frame has MediaPipe's meshes of
    its image and of the frame without its AUs, in the image's pixel
    frame, with the ground truth's topology."""
    kw = dict(seed=5, num_subjects=3, images_per_subject=3, image_size=112)
    plain = generate_synthau(str(tmp_path), SynthAUSpec(**kw), False)
    build = generate_synthau(
        str(tmp_path), SynthAUSpec(reconstruct=True, **kw), False
    )
    assert build != plain and build.endswith('_recon')
    with open(osp.join(build, 'annotations', 'synthau.json')) as fh:
        data = json.load(fh)['data_list']
    with open(osp.join(build, 'summary.json')) as fh:
        summary = json.load(fh)
    assert len(data) == sum(s['status'] == 'ok' for s in summary) >= 7
    for d in data:
        for rel in (d['img_path'], d['geo_path']):
            with open(osp.join(plain, rel), 'rb') as a:
                with open(osp.join(build, rel), 'rb') as b:
                    assert a.read() == b.read(), rel
        truth = FaceSurface.load(osp.join(build, d['geo_path']))
        for mesh in ('recon', 'recon_neutral'):
            recon = FaceSurface.load(
                mesh_path(osp.join(build, d['geo_path']), mesh)
            )
            assert recon.image_size == truth.image_size == (112, 112)
            np.testing.assert_array_equal(recon.faces, truth.faces)
            # The same face: the eye corners within a few pixels.
            err = (
                recon.vertices[list(EYE_OUTER), :2]
                - truth.vertices[list(EYE_OUTER), :2]
            )
            assert np.abs(err).max() < 6, (d['img_path'], mesh, err)


def test_load_synthau_face_surface_picks_the_mesh(tmp_path):
    spec = SynthAUSpec(
        seed=5,
        num_subjects=3,
        images_per_subject=1,
        image_size=112,
        reconstruct=True,
    )
    build = generate_synthau(str(tmp_path), spec, False)
    with open(osp.join(build, 'annotations', 'synthau.json')) as fh:
        d = json.load(fh)['data_list'][0]
    geo = osp.join(build, d['geo_path'])
    img = cv2.imread(osp.join(build, d['img_path']))
    for mesh in ('gt', 'neutral', 'recon', 'recon_neutral'):
        out = LoadSynthAUFaceSurface(mesh)(dict(img=img, geo_path=geo))
        np.testing.assert_array_equal(
            out['face_surface'].vertices,
            FaceSurface.load(mesh_path(geo, mesh)).vertices,
        )
    # A mesh the build does not have: the error names the file and which
    # builds keep it.
    os.remove(mesh_path(geo, 'recon_neutral'))
    with pytest.raises(ValueError, match='_recon_neutral.npz.*reconstruct'):
        LoadSynthAUFaceSurface('recon_neutral')(dict(img=img, geo_path=geo))
    with pytest.raises(ValueError, match='mesh must be one of'):
        LoadSynthAUFaceSurface('fitted')
    with pytest.raises(ValueError, match='differs from the image'):
        LoadSynthAUFaceSurface('recon')(dict(img=img[:50], geo_path=geo))


def test_a_rerun_removes_what_a_killed_build_left(tmp_path):
    """The temporary files of atomic writes interrupted by a kill are gone
    after the rerun that finishes the build."""
    spec = SynthAUSpec(seed=4, num_subjects=3, images_per_subject=2)
    folder = tmp_path / spec.key / 'images' / 'S002'
    folder.mkdir(parents=True)
    for name in ('tmpab12cd.tmp.npz', 'tmpxy.tmp.png'):
        (folder / name).write_bytes(b'partial')
    build = generate_synthau(str(tmp_path), spec, False, num_workers=1)
    left = sorted(os.listdir(osp.join(build, 'images', 'S002')))
    assert left and not [n for n in left if '.tmp.' in n], left


def test_render_workers_that_cannot_start_end_the_build_in_one_line(
    tmp_path,
):
    """A base face the workers cannot load: the tool stops with one line
    naming the cause, instead of hanging or a pool traceback."""
    import subprocess
    import sys

    from tests.fixtures.paths import REPO_ROOT

    spec = SynthAUSpec(seed=4, num_subjects=3, images_per_subject=2)
    build = tmp_path / spec.key
    build.mkdir()
    (build / 'base_face.npz').write_bytes(b'not an npz')
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(
                REPO_ROOT, 'tools', 'dataset_converters', 'generate_synthau.py'
            ),
            '--root',
            str(tmp_path),
            '--seed',
            '4',
            '--num-subjects',
            '3',
            '--images-per-subject',
            '2',
            '--workers',
            '2',
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('generate_synthau.py: ') and 'Traceback' not in (
        proc.stderr
    ), proc.stderr[-1500:]
