import numpy as np

from geoconv_mm.face.samples import sample_frames


def test_sample_frames_cycle_four_views_at_30_fps():
    frames = sample_frames(6)
    assert [f.index for f in frames] == list(range(6))
    assert [f.timestamp for f in frames] == [i / 30.0 for i in range(6)]
    assert [f.name for f in frames] == [f'astronaut:{i}' for i in range(6)]
    first, mirrored, small, large = (f.image for f in frames[:4])
    assert first.shape == (512, 512, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(mirrored, first[:, ::-1])
    assert small.shape == (384, 384, 3) and large.shape == (640, 640, 3)
    np.testing.assert_array_equal(frames[4].image, first)
    np.testing.assert_array_equal(frames[5].image, mirrored)
