"""Key frames of a video: first frame, every N frames, and on a lost face."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoconv_mm.face import KeyFrameSchedule


def test_rejects_bad_intervals():
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError):
            KeyFrameSchedule(bad)


@given(st.integers(1, 12), st.integers(1, 60))
def test_steady_tracking_detects_every_n_frames(n, frames):
    schedule = KeyFrameSchedule(n)
    keys = [i for i in range(frames) if schedule.next_frame(tracked=1)]
    assert keys == list(range(0, frames, n))


def test_no_tracked_face_means_detection_and_reset_restarts():
    schedule = KeyFrameSchedule(4)
    assert [schedule.next_frame(t) for t in (1, 1, 0, 1, 1, 1, 1)] == [
        True,
        False,
        True,  # nothing to track
        False,
        False,
        False,
        True,  # four frames after the last key frame
    ]
    schedule.reset()
    assert schedule.next_frame(1)


@given(
    st.integers(1, 8),
    st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=80),
)
def test_matches_reference_with_losses(n, steps):
    """Against a direct statement of the rule: a frame is a key frame when
    it is the first, nothing is tracked, or n frames passed since the last
    key frame; a tracked frame that loses a face becomes a key frame."""
    schedule = KeyFrameSchedule(n)
    last_key = None
    for i, (tracked, lost) in enumerate(steps):
        expected = last_key is None or tracked == 0 or i - last_key >= n
        key = schedule.next_frame(tracked)
        assert key == expected
        if key:
            last_key = i
        elif lost:
            schedule.redetect()
            last_key = i
        # Never more than n frames without the full detection.
        assert i - last_key < n
