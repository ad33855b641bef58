"""Faces in a frame: detection, crops, identities over a video, head pose."""
from .boxes import box_iou, nms
from .crops import (FaceCrop, crop_region, face_crop, mesh_box,
                    mesh_in_detection)
from .detectors import (FACE_DETECTORS, MEDIAPIPE_KEYPOINTS, FaceDetection,
                        MediaPipeFaceDetector, WholeImageDetector,
                        build_face_detector, largest_face)
from .head_pose import (POSE_KEYS, HeadPose, HeadPoseEstimator,
                        euler_to_matrix, frontal_reference, matrix_to_euler,
                        mesh_rotation)
from .tracker import FaceTracker

__all__ = [
    'box_iou', 'nms', 'FaceCrop', 'crop_region', 'face_crop', 'mesh_box',
    'mesh_in_detection', 'FACE_DETECTORS', 'MEDIAPIPE_KEYPOINTS',
    'FaceDetection', 'MediaPipeFaceDetector', 'WholeImageDetector',
    'build_face_detector', 'largest_face', 'POSE_KEYS', 'HeadPose',
    'HeadPoseEstimator', 'euler_to_matrix', 'frontal_reference',
    'matrix_to_euler', 'mesh_rotation', 'FaceTracker'
]
