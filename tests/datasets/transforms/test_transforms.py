"""Transforms that need no geodesic computation: photometric, geometric,
packing.
"""

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geoconv_mm.datasets.transforms import (
    CropFace,
    PackAUInputs,
    PCALighting,
    RandomFlipFace,
    RandomHSVScale,
    ResizeFace,
)
from geoconv_mm.datasets.transforms.photometric import (
    IMAGENET_EIGVAL,
    IMAGENET_EIGVEC,
)
from tests.fixtures.builders import grid_surface


def ramp_image(h=12, w=16):
    """float32 image whose channels are x, y and a constant: bilinear resizing
    reproduces it exactly away from the borders."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x, y, np.full_like(x, 7)], -1)


def test_hsv_scale_brightness_saturation_hue():
    img = np.random.RandomState(0).randint(0, 256, (6, 7, 3)).astype(np.uint8)
    same = RandomHSVScale((1, 1), (1, 1), (1, 1)).transform(dict(img=img))[
        'img'
    ]
    assert np.abs(same.astype(int) - img).max() <= 1
    dark = RandomHSVScale((1, 1), (1, 1), (0.5, 0.5)).transform(dict(img=img))[
        'img'
    ]
    assert np.abs(dark.astype(float) - img * 0.5).max() <= 1.0
    grey = RandomHSVScale((1, 1), (0, 0), (1, 1)).transform(dict(img=img))[
        'img'
    ]
    assert np.abs(grey.astype(int) - img.max(2, keepdims=True)).max() <= 1
    green = np.zeros((1, 1, 3), np.uint8)
    green[..., 1] = 255  # BGR green, hue 120 deg; x1.5 -> 180 deg = cyan
    cyan = RandomHSVScale((1.5, 1.5), (1, 1), (1, 1)).transform(
        dict(img=green)
    )['img']
    assert cyan.ravel().tolist() == [255, 255, 0]
    with pytest.raises(ValueError, match='hue'):
        RandomHSVScale(hue=(1.4, 0.6))


def test_hsv_scale_factors_are_uniform_in_range():
    t = RandomHSVScale()
    np.random.seed(1)
    f = np.array([t._factors() for _ in range(2000)])
    assert f.min() >= 0.6 and f.max() <= 1.4
    assert np.allclose(f.mean(0), 1.0, atol=0.03)
    assert np.allclose(f.std(0), 0.8 / np.sqrt(12), atol=0.02)


def test_pca_lighting_matches_alexnet_formula_in_bgr():
    img = np.full((3, 4, 3), 128, np.uint8)
    img[0, 0] = (0, 255, 10)
    np.random.seed(3)
    alpha = np.random.normal(0, 0.1, 3)
    rgb_shift = np.array(IMAGENET_EIGVEC) @ (alpha * np.array(IMAGENET_EIGVAL))
    np.random.seed(3)
    out = PCALighting(alphastd=0.1).transform(dict(img=img.copy()))['img']
    expected = np.clip(np.rint(img + rgb_shift[::-1]), 0, 255)
    assert out.dtype == np.uint8 and np.array_equal(out, expected)
    np.random.seed(3)
    out = PCALighting(channel_order='rgb').transform(
        dict(img=img.astype(np.float32))
    )
    assert np.allclose(out['img'], img + rgb_shift, atol=1e-4)


def test_flip_moves_image_and_surface_together():
    img = (
        np.random.RandomState(0).randint(0, 256, (10, 13, 3)).astype(np.uint8)
    )
    surface = grid_surface(10, 13)
    res = RandomFlipFace(prob=1.0).transform(
        dict(img=img, face_surface=surface)
    )
    assert res['flip'] and np.array_equal(res['img'], img[:, ::-1])
    v0, v1 = surface.vertices, res['face_surface'].vertices
    # every vertex sits on the pixel that carries the same colour after the
    # flip
    xs, ys = v0[:, 0].astype(int), v0[:, 1].astype(int)
    xn, yn = np.rint(v1[:, 0]).astype(int), np.rint(v1[:, 1]).astype(int)
    assert np.array_equal(img[ys, xs], res['img'][yn, xn])
    assert np.allclose(v1[:, 2], v0[:, 2])
    res = RandomFlipFace(prob=0.0).transform(
        dict(img=img, face_surface=surface)
    )
    assert not res['flip'] and res['face_surface'] is surface
    with pytest.raises(ValueError, match='horizontally'):
        RandomFlipFace(direction='vertical')


def test_resize_to_the_same_size_is_the_general_path_bit_for_bit():
    # The shortcut for crops already at the size must give exactly what the
    # resize and the affine map give (cv2 copies; the identity map is exact).
    import mmcv

    img = (
        np.random.RandomState(0).randint(0, 256, (12, 16, 3)).astype(np.uint8)
    )
    surface = grid_surface(12, 16)
    res = ResizeFace((12, 16)).transform(dict(img=img, face_surface=surface))
    assert np.array_equal(res['img'], mmcv.imresize(img, (16, 12)))
    moved = surface.transform(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (12, 16))
    assert np.array_equal(res['face_surface'].vertices, moved.vertices)
    assert np.array_equal(res['face_surface'].faces, moved.faces)
    assert res['face_surface'].image_size == (12, 16)
    assert res['img_shape'] == (12, 16) and res['scale_factor'] == (1.0, 1.0)


def test_resize_and_crop_map_the_surface_with_the_image():
    img = ramp_image(12, 16)
    surface = grid_surface(12, 16)
    res = ResizeFace((9, 8)).transform(dict(img=img, face_surface=surface))
    out, s = res['img'], res['face_surface']
    assert out.shape == (9, 8, 3) and s.image_size == (9, 8)
    # each vertex lands where the resized image shows its original coordinates
    inner = (
        (s.vertices[:, 0] > 1)
        & (s.vertices[:, 0] < 6)
        & (s.vertices[:, 1] > 1)
        & (s.vertices[:, 1] < 7)
    )
    assert inner.sum() >= 10
    for v_new, v_old in zip(s.vertices[inner], surface.vertices[inner]):
        x0, y0 = int(np.floor(v_new[0])), int(np.floor(v_new[1]))
        fx, fy = v_new[0] - x0, v_new[1] - y0
        patch = out[y0 : y0 + 2, x0 : x0 + 2, :2]
        val = (
            patch[0, 0] * (1 - fx) * (1 - fy)
            + patch[0, 1] * fx * (1 - fy)
            + patch[1, 0] * (1 - fx) * fy
            + patch[1, 1] * fx * fy
        )
        assert np.allclose(val, v_old[:2], atol=1e-3)
    assert np.allclose(
        s.vertices[:, 2],
        surface.vertices[:, 2] * np.sqrt(0.5 * 0.75),
        atol=1e-5,
    )
    np.random.seed(0)
    res = CropFace((5, 6), random=True).transform(
        dict(img=img, face_surface=surface)
    )
    x0, y0, x1, y1 = res['crop_bbox']
    assert (x1 - x0, y1 - y0) == (6, 5) and res['face_surface'].image_size == (
        5,
        6,
    )
    v = res['face_surface'].vertices
    inside = (v[:, 0] >= 0) & (v[:, 0] < 6) & (v[:, 1] >= 0) & (v[:, 1] < 5)
    assert inside.sum() == 30
    px = res['img'][v[inside, 1].astype(int), v[inside, 0].astype(int), :2]
    assert np.allclose(px, surface.vertices[inside, :2])
    res = CropFace(4, random=False).transform(dict(img=img))
    assert res['crop_bbox'] == (6, 4, 10, 8)
    with pytest.raises(ValueError, match='larger than the image'):
        CropFace(20).transform(dict(img=img))


def test_geometric_transforms_refuse_after_derived_maps():
    img = np.zeros((8, 8, 3), np.uint8)
    for t in (RandomFlipFace(1.0), ResizeFace(4), CropFace(4)):
        with pytest.raises(
            RuntimeError, match='before GenerateGeodesicWeights'
        ):
            t.transform(dict(img=img, geo_weights={}))
        with pytest.raises(
            RuntimeError, match='before GenerateGeodesicWeights'
        ):
            t.transform(dict(img=img, depth=np.zeros((8, 8), np.float32)))
    with pytest.raises(ValueError, match='image_size'):
        RandomFlipFace(1.0).transform(
            dict(img=img, face_surface=grid_surface(4, 8))
        )


def test_pack_au_inputs():
    img = np.random.RandomState(0).randint(0, 256, (4, 5, 3)).astype(np.uint8)
    w = np.random.rand(9, 4, 5).astype(np.float32)
    packed = PackAUInputs().transform(
        dict(
            img=img,
            gt_au=np.array([1, 0, 0], np.uint8),
            au_mask=np.array([True, True, False]),
            geo_weights={'S1_k3x3_s1x1_p1x1_d1x1': w},
            depth=np.ones((4, 5), np.float32),
            au_intensities=np.array([3, 0, 1]),
            img_path='a.jpg',
            subject='F001',
            frame=7,
            flip=True,
        )
    )
    assert packed['inputs'].shape == (3, 4, 5)
    assert torch.equal(
        packed['inputs'], torch.from_numpy(img).permute(2, 0, 1)
    )
    ds = packed['data_samples']
    assert ds.gt_au.dtype == torch.float32 and ds.gt_au.tolist() == [
        1.0,
        0.0,
        0.0,
    ]
    assert ds.au_mask.dtype == torch.bool and ds.au_mask.tolist() == [
        True,
        True,
        False,
    ]
    assert torch.equal(
        ds.geo_weights['S1_k3x3_s1x1_p1x1_d1x1'], torch.from_numpy(w)
    )
    assert ds.depth.shape == (1, 4, 5) and ds.au_intensities.tolist() == [
        3,
        0,
        1,
    ]
    assert ds.metainfo['subject'] == 'F001' and ds.metainfo['frame'] == 7
    assert ds.flip is True
    # Unlabelled frames (inference) pack without targets; training then fails
    # in the head.
    unlabelled = PackAUInputs().transform(dict(img=img))['data_samples']
    assert 'gt_au' not in unlabelled and 'au_mask' not in unlabelled
    with pytest.raises(ValueError, match='differ'):
        PackAUInputs().transform(
            dict(img=img, gt_au=np.zeros(3), au_mask=np.ones(2, bool))
        )


def reference_hsv_scale(img, fh, fs, fv):
    """RandomHSVScale written directly in numpy over all three channels."""
    hsv = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_BGR2HSV)
    hsv[..., 0] = np.mod(hsv[..., 0] * fh, 360.0)
    hsv[..., 1] = np.clip(hsv[..., 1] * fs, 0.0, 1.0)
    hsv[..., 2] = np.clip(hsv[..., 2] * fv, 0.0, 1.0)
    out = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) * 255.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


factor = st.one_of(
    st.sampled_from([0.0, 0.6, 1.0, 1.4, 3.0]),
    st.floats(0.0, 3.0, width=32),
)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), fh=factor, fs=factor, fv=factor)
def test_hsv_scale_equals_reference(seed, fh, fs, fv):
    rng = np.random.RandomState(seed)
    img = rng.randint(0, 256, (17, 23, 3)).astype(np.uint8)
    img[0, :6] = [(0, 0, 0), (255, 255, 255), (0, 0, 255), (255, 0, 0),
                  (0, 255, 0), (128, 128, 128)]  # fmt: skip
    t = RandomHSVScale((fh, fh), (fs, fs), (fv, fv))
    out = t.transform(dict(img=img.copy()))['img']
    expected = reference_hsv_scale(img, *np.float32([fh, fs, fv]))
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert np.array_equal(out, expected)
    # a strided view (as a flip may leave) gives the same result
    view = t.transform(dict(img=img[:, ::-1]))['img']
    assert np.array_equal(view, reference_hsv_scale(img[:, ::-1], fh, fs, fv))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    alphastd=st.sampled_from([0.0, 0.1, 1.0, 5.0]),
    order=st.sampled_from(['bgr', 'rgb']),
)
def test_pca_lighting_uint8_equals_reference(seed, alphastd, order):
    rng = np.random.RandomState(seed)
    img = rng.randint(0, 256, (9, 11, 3)).astype(np.uint8)
    img[0, :2] = [(0, 0, 0), (255, 255, 255)]
    np.random.seed(seed)
    alpha = np.random.normal(0, alphastd, 3)
    shift = np.array(IMAGENET_EIGVEC) @ (alpha * np.array(IMAGENET_EIGVAL))
    if order == 'bgr':
        shift = shift[::-1]
    expected = np.clip(
        np.rint(img.astype(np.float32) + shift.astype(np.float32)), 0, 255
    ).astype(np.uint8)
    np.random.seed(seed)
    t = PCALighting(alphastd=alphastd, channel_order=order)
    out = t.transform(dict(img=img[:, ::-1]))['img']
    assert out.dtype == np.uint8
    assert np.array_equal(out, expected[:, ::-1])


def test_flip_image_is_a_contiguous_copy_of_the_mirror():
    rng = np.random.RandomState(1)
    for img in (
        rng.randint(0, 256, (7, 9, 3)).astype(np.uint8),
        rng.rand(5, 6, 4).astype(np.float32),
        rng.randint(0, 256, (4, 5)).astype(np.uint8),
    ):
        out = RandomFlipFace(1.0).transform(dict(img=img))['img']
        assert out.flags.c_contiguous and out.dtype == img.dtype
        assert np.array_equal(out, img[:, ::-1])


@settings(max_examples=80, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    channels=st.integers(0, 5),
    dtype=st.sampled_from([np.uint8, np.float32, np.int16]),
    view=st.sampled_from(['contiguous', 'flipped', 'strided', 'transposed']),
    seed=st.integers(0, 2**16),
)
def test_image_to_tensor_matches_mmpretrain(h, w, channels, dtype, view, seed):
    """The (C, H, W) planes of any image and view, as format_input gives
    them for a copy."""
    from mmpretrain.datasets.transforms import PackInputs

    from geoconv_mm.datasets.transforms.formatting import image_to_tensor

    shape = (h, w) if channels == 0 else (h, w, channels)
    img = np.random.RandomState(seed).randint(0, 255, shape).astype(dtype)
    if view == 'flipped':
        img = img[:, ::-1]
    elif view == 'strided':
        img = img[::2]
    elif view == 'transposed':
        img = img.swapaxes(0, 1)
    got = image_to_tensor(img)
    ref = PackInputs.format_input(img.copy())
    planes = np.moveaxis(img if img.ndim == 3 else img[..., None], -1, 0)
    assert torch.equal(ref, torch.from_numpy(planes.copy()))
    assert got.dtype == ref.dtype and got.shape == ref.shape
    assert got.is_contiguous()
    assert torch.equal(got, ref)
