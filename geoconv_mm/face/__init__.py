"""Faces in a frame: detection, a coarse 3D mesh per face, alignment to a
fixed crop, identities over a video and head pose.

Image -> detector (``FACE_DETECTORS``) -> crop around each face (:mod:`.crops`)
-> reconstructor (``RECONSTRUCTORS``: MediaPipe Face Mesh, mesh files, a
linear 3DMM) -> :class:`RawFace` in the image frame -> similarity alignment of
the eyes and mouth to the template (:mod:`.alignment`) -> :class:`FaceResult`
(aligned crop, :class:`~geoconv_mm.geodesic.FaceSurface` in the crop frame,
facial mask). The surface then goes to :mod:`geoconv_mm.geodesic`.

In a video the detector runs on key frames only (:class:`KeyFrameSchedule`);
between them each face is followed from its previous mesh
(:meth:`FacePipeline.track`). Still images always get the full detection.
"""

from .alignment import (
    DEFAULT_TEMPLATE,
    KEYPOINTS,
    similarity_transform,
    template_fractions,
    template_points,
)
from .boxes import box_iou, nms
from .crops import (
    FaceCrop,
    crop_region,
    face_crop,
    mesh_box,
    mesh_in_detection,
)
from .detectors import (
    FACE_DETECTORS,
    MEDIAPIPE_KEYPOINTS,
    MTCNN_KEYPOINTS,
    FaceDetection,
    MediaPipeFaceDetector,
    MTCNNFaceDetector,
    UnionFaceDetector,
    WholeImageDetector,
    build_face_detector,
    default_detector_config,
    largest_face,
)
from .head_pose import (
    POSE_KEYS,
    HeadPose,
    HeadPoseEstimator,
    euler_to_matrix,
    frontal_reference,
    matrix_to_euler,
    mesh_rotation,
)
from .holes import hole_loops, keypoints_from_holes
from .pipeline import (
    DroppedFace,
    FacePipeline,
    FaceResult,
    NoFaceError,
    rasterize_mask,
)
from .reconstructors import (
    RECONSTRUCTORS,
    Linear3DMM,
    MediaPipeFaceMesh,
    MeshFileReconstructor,
    RawFace,
    build_reconstructor,
    facemesh_faces,
)
from .schedule import KeyFrameSchedule
from .tracker import FaceTracker

__all__ = [
    'DEFAULT_TEMPLATE',
    'DroppedFace',
    'KEYPOINTS',
    'FacePipeline',
    'FaceResult',
    'Linear3DMM',
    'MediaPipeFaceMesh',
    'MeshFileReconstructor',
    'NoFaceError',
    'RECONSTRUCTORS',
    'RawFace',
    'build_reconstructor',
    'facemesh_faces',
    'hole_loops',
    'keypoints_from_holes',
    'rasterize_mask',
    'similarity_transform',
    'template_fractions',
    'template_points',
    'box_iou',
    'nms',
    'FaceCrop',
    'crop_region',
    'face_crop',
    'mesh_box',
    'mesh_in_detection',
    'FACE_DETECTORS',
    'MEDIAPIPE_KEYPOINTS',
    'FaceDetection',
    'MediaPipeFaceDetector',
    'MTCNNFaceDetector',
    'MTCNN_KEYPOINTS',
    'UnionFaceDetector',
    'WholeImageDetector',
    'build_face_detector',
    'default_detector_config',
    'largest_face',
    'POSE_KEYS',
    'HeadPose',
    'HeadPoseEstimator',
    'euler_to_matrix',
    'frontal_reference',
    'matrix_to_euler',
    'mesh_rotation',
    'FaceTracker',
    'KeyFrameSchedule',
]
