"""Which frames of a video get the full face detection."""

from __future__ import annotations

from typing import Optional

#: Key-frame interval of videos: a third of a second at 30 frames/s. Shorter
#: finds an entering face sooner, at the cost of a tiled detection (about
#: twice a whole frame's other work) per key frame.
DEFAULT_DETECT_EVERY = 10


class KeyFrameSchedule:
    """Full detection on key frames, tracking in between (videos only).

    A key frame is the first frame, every ``detect_every``-th frame after
    the last key frame, and any frame with no face to track. The frames
    between follow each face from its previous mesh with no detector
    (:meth:`geoconv_mm.face.FacePipeline.track`); when a face is lost there
    the caller calls :meth:`redetect` and runs the full detection on that
    frame, which then counts as a key frame. A face that enters the picture
    between key frames is therefore found at the next key frame, at most
    ``detect_every - 1`` frames late.

    Args:
        detect_every (int): Frames from one key frame to the next; 1 runs
            the full detection on every frame.
    """

    def __init__(self, detect_every: int = DEFAULT_DETECT_EVERY) -> None:
        if int(detect_every) != detect_every or detect_every < 1:
            raise ValueError(
                f'detect_every must be an integer >= 1, got {detect_every}'
            )
        self.detect_every = int(detect_every)
        self.reset()

    def reset(self) -> None:
        """A new video: its next frame is a key frame."""
        self._since_key: Optional[int] = None

    def next_frame(self, tracked: int) -> bool:
        """Whether the next frame is a key frame; call once per frame, in
        order.

        Args:
            tracked (int): Faces carried over from the previous frame.

        Returns:
            bool: True to run the full detection, False to track.
        """
        key = (
            self._since_key is None
            or tracked == 0
            or self._since_key + 1 >= self.detect_every
        )
        self._since_key = 0 if key else self._since_key + 1
        return key

    def redetect(self) -> None:
        """The current frame lost a face and gets the full detection: it
        becomes the key frame the count restarts from."""
        self._since_key = 0
