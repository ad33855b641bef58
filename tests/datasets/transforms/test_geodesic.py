"""Transforms that compute geodesic weights / depth from the face surface."""

import json
import os.path as osp

import cv2
import numpy as np
import pytest

from geoconv_mm import geodesic
from geoconv_mm.datasets import BP4DDataset
from geoconv_mm.datasets.transforms import (
    GenerateGeodesicWeights,
    LoadFaceSurface,
    RandomFlipFace,
    RenderDepth,
)
from geoconv_mm.ops.geo_spec import GeoSpec
from tests.fixtures.builders import grid_surface

SPECS = [GeoSpec(1, 3, 1, 1), dict(in_stride=2, kernel_size=3, padding=1)]


def mirror(w, kw=3):
    """Hand-written flip of a weight stack: mirror x and swap taps j <->
    Kw-1-j.
    """
    k, h, wd = w.shape
    return w.reshape(k // kw, kw, h, wd)[:, ::-1, :, ::-1].reshape(k, h, wd)


def test_flip_keeps_image_and_weights_consistent():
    img = (
        np.random.RandomState(0).randint(0, 256, (16, 16, 3)).astype(np.uint8)
    )
    surface = grid_surface(16, 16)
    gen = GenerateGeodesicWeights(SPECS)
    plain = gen.transform(dict(img=img, face_surface=surface))
    flipped = gen.transform(
        RandomFlipFace(prob=1.0).transform(dict(img=img, face_surface=surface))
    )
    assert np.array_equal(flipped['img'], img[:, ::-1])
    assert set(plain['geo_weights']) == {
        'S1_k3x3_s1x1_p1x1_d1x1',
        'S2_k3x3_s1x1_p1x1_d1x1',
    }
    for key, w in plain['geo_weights'].items():
        wf = flipped['geo_weights'][key]
        assert w.dtype == np.float32 and w.shape == wf.shape
        assert w.std() > 0.01  # the bump makes the weights non-trivial...
        assert np.abs(wf - w).max() > 0.01  # ...and left-right asymmetric
        assert np.allclose(wf, mirror(w), atol=1e-4)


def test_flat_face_gives_plain_convolution():
    img = np.zeros((12, 12, 3), np.uint8)
    # two triangles covering the crop: a plane facing the camera
    v = np.array(
        [[-0.5, -0.5, 3], [11.5, -0.5, 3], [-0.5, 11.5, 3], [11.5, 11.5, 3]]
    )
    surface = geodesic.FaceSurface(
        v, np.array([[0, 1, 2], [1, 3, 2]]), (12, 12)
    )
    out = GenerateGeodesicWeights(SPECS).transform(
        dict(img=img, face_surface=surface)
    )
    assert out['geo_weights']['S1_k3x3_s1x1_p1x1_d1x1'].shape == (9, 12, 12)
    assert out['geo_weights']['S2_k3x3_s1x1_p1x1_d1x1'].shape == (9, 6, 6)
    for w in out['geo_weights'].values():
        assert np.allclose(w, 1.0, atol=1e-5)


def test_weights_need_surface_matching_the_image():
    gen = GenerateGeodesicWeights(['S1_k3x3_s1x1_p1x1_d1x1'])
    with pytest.raises(KeyError, match='LoadFaceSurface'):
        gen.transform(dict(img=np.zeros((8, 8, 3), np.uint8)))
    with pytest.raises(ValueError, match='image_size'):
        gen.transform(
            dict(
                img=np.zeros((8, 8, 3), np.uint8),
                face_surface=grid_surface(8, 9),
            )
        )
    with pytest.raises(ValueError, match='duplicate'):
        GenerateGeodesicWeights([GeoSpec(1), 'S1_k3x3_s1x1_p1x1_d1x1'])


def test_render_depth_key_and_channel():
    x = np.tile(np.arange(10, dtype=np.float32), (8, 1))
    surface = grid_surface(8, 10, z=5 + 0.5 * x)
    img = np.full((8, 10, 3), 9, np.uint8)
    depth = RenderDepth().transform(dict(img=img, face_surface=surface))[
        'depth'
    ]
    assert depth.shape == (8, 10) and np.allclose(depth, 0.5 * x, atol=1e-4)
    rgbd = RenderDepth('channel').transform(
        dict(img=img, face_surface=surface)
    )['img']
    assert rgbd.shape == (8, 10, 4) and rgbd.dtype == np.float32
    assert np.allclose(rgbd[..., :3], 9) and np.allclose(rgbd[..., 3], depth)


def test_load_face_surface(tmp_path):
    surface = grid_surface(6, 7)
    path = str(tmp_path / 'f.npz')
    surface.save(path)
    res = LoadFaceSurface().transform(
        dict(img=np.zeros((6, 7, 3), np.uint8), geo_path=path)
    )
    assert np.allclose(res['face_surface'].vertices, surface.vertices)
    with pytest.raises(
        FileNotFoundError, match=r'subject F001 frame 12: missing .*g.npz'
    ):
        LoadFaceSurface().transform(
            dict(geo_path=str(tmp_path / 'g.npz'), subject='F001', frame=12)
        )
    with pytest.raises(ValueError, match='differs from the image'):
        LoadFaceSurface().transform(
            dict(img=np.zeros((7, 7, 3), np.uint8), geo_path=path)
        )


def test_dataset_pipeline_end_to_end(tmp_path):
    """A hand-written annotation, as the prepare tools write it, through
    mmpretrain.
    """
    frames = tmp_path / 'frames/F001/T1'
    frames.mkdir(parents=True)
    img = (
        np.random.RandomState(1).randint(0, 256, (16, 16, 3)).astype(np.uint8)
    )
    cv2.imwrite(str(frames / '02440.png'), img)
    grid_surface(16, 16).save(str(frames / '02440.npz'))
    ann = dict(
        metainfo=dict(
            dataset='BP4D', au_ids=[1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]
        ),
        data_list=[
            dict(
                img_path='frames/F001/T1/02440.png',
                geo_path='frames/F001/T1/02440.npz',
                subject='F001',
                sequence='T1',
                frame=2440,
                au_labels=[1, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0],
            )
        ],
    )
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    ds = BP4DDataset(
        'ann.json',
        data_root=str(tmp_path),
        fold=2,
        split='train',
        au_ids=[1, 4, 12],
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadFaceSurface'),
            dict(type='RandomFlipFace', prob=1.0),
            dict(type='GenerateGeodesicWeights', specs=SPECS[:1]),
            dict(type='RenderDepth'),
            dict(type='PackAUInputs'),
        ],
    )
    item = ds[0]
    sample = item['data_samples']
    assert item['inputs'].shape == (3, 16, 16)
    assert np.array_equal(
        item['inputs'].permute(1, 2, 0).numpy(), img[:, ::-1]
    )
    assert sample.gt_au.tolist() == [1.0, 0.0, 1.0]
    assert sample.au_mask.tolist() == [True, False, True]
    assert sample.geo_weights['S1_k3x3_s1x1_p1x1_d1x1'].shape == (9, 16, 16)
    assert sample.depth.shape == (1, 16, 16)
    assert sample.img_path == osp.join(
        str(tmp_path), 'frames/F001/T1/02440.png'
    )
