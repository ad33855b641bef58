"""One row of AU inference: a face of a frame, or a frame without one; and
the network's output for a batch of faces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, NamedTuple, Optional, Sequence

import numpy as np

#: Values of :attr:`AUPrediction.status`, and what each means.
STATUSES = {
    'ok': 'the face was analysed',
    'no_face': 'the detector found no face in the frame',
    'no_mesh': 'a face was detected but the face mesh could not be fitted '
    'to it (faces turned far from the camera, or a false detection)',
    'degenerate_mesh': 'the face mesh was fitted but is unusable',
    'unreadable': 'the frame or file could not be decoded',
    'error': 'anything else that failed on this frame',
}

#: The AU outputs a network may give, and the :class:`AUPrediction` field
#: that holds each: ``occurrence`` (probabilities, thresholded into
#: ``presence``) and ``intensity`` (0-5).
OUTPUT_FIELDS = dict(occurrence='probabilities', intensity='intensities')


@dataclass
class AUPrediction:
    """AU prediction of one face of one frame (or of a frame without one).

    Args:
        frame (int): 0-based frame index.
        timestamp (float): Seconds from the start of the input.
        success (bool): A face was found and analysed (OpenFace's name).
        confidence (float): Face detector score (0 without a face).
        probabilities (np.ndarray | None): (A,) AU occurrence probabilities;
            None also for a model without an occurrence output.
        presence (np.ndarray | None): (A,) 0/1 decisions at the model's
            threshold.
        name (str): The frame's source, for messages.
        reason (str): Why ``success`` is False.
        crop (np.ndarray | None): The aligned face crop (BGR), when asked for.
        face_id (int | None): Identity of the face over the input
            (:class:`~geoconv_mm.face.FaceTracker`); None without a face.
        box (np.ndarray | None): (4,) xyxy face box in the frame; for a
            face that could not be analysed, the detector's box.
        pose (dict | None): OpenFace's ``pose_Tx`` ... ``pose_Rz``
            (:class:`~geoconv_mm.face.HeadPoseEstimator`), when a mesh
            gives them (also for a ``degenerate_mesh`` row whose mesh
            still fits the head-pose reference).
        status (str): One of :data:`STATUSES`.
        intensities (np.ndarray | None): (A,) AU intensities on the 0-5
            scale of OpenFace's ``AUxx_r``, for a model with an intensity
            head; None otherwise.
    """

    frame: int
    timestamp: float
    success: bool
    confidence: float = 0.0
    probabilities: Optional[np.ndarray] = None
    presence: Optional[np.ndarray] = None
    name: str = ''
    reason: str = ''
    crop: Optional[np.ndarray] = field(default=None, repr=False)
    face_id: Optional[int] = None
    box: Optional[np.ndarray] = None
    pose: Optional[Dict[str, float]] = None
    status: str = 'ok'
    intensities: Optional[np.ndarray] = None


class AUNetworkOutput(NamedTuple):
    """What a network backend's ``predict`` gives for B faces.

    Args:
        probabilities (np.ndarray | None): float32 (B, A) AU occurrence
            probabilities; None for a model without an occurrence output.
        intensities (np.ndarray | None): float32 (B, A) AU intensities,
            0-5; None for a model without an intensity output.
    """

    probabilities: Optional[np.ndarray]
    intensities: Optional[np.ndarray] = None

    def set_on(
        self, preds: Sequence[AUPrediction], threshold: Optional[float]
    ) -> None:
        """Give row ``b`` to ``preds[b]``: its probabilities and their
        presence at ``threshold``, and its intensities."""
        for name, values in self._asdict().items():
            if values is not None and len(values) != len(preds):
                raise ValueError(
                    f'the network gave {len(values)} rows of {name} for '
                    f'{len(preds)} faces'
                )
        for b, pred in enumerate(preds):
            if self.probabilities is not None:
                pred.probabilities = self.probabilities[b]
                pred.presence = (self.probabilities[b] >= threshold).astype(
                    np.int64
                )
            if self.intensities is not None:
                pred.intensities = self.intensities[b]
