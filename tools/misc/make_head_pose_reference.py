"""Write the head-pose reference of MediaPipe's 468-vertex Face Mesh.

The reference (:func:`geoconv_mm.face.head_pose.mediapipe_reference`) is the
frontal face, in millimetres, that head pose is fitted against. It is the Face
Mesh of ``skimage.data.astronaut()`` with the mouth closed (the SynthAU base
face), turned frontal and scaled by :func:`frontal_reference` on its eye and
mouth holes. Inference reads it from the package's assets, so that it needs
neither the photograph nor the data generator; this script is how the asset
was made, and ``tests/face/test_head_pose.py`` checks that it still gives the
same numbers.

Example::

    python tools/misc/make_head_pose_reference.py
"""

import argparse

import numpy as np

from geoconv_mm.datasets.synthau.face_model import reconstruct_base_face
from geoconv_mm.face.head_pose import REFERENCE_ASSET, frontal_reference
from geoconv_mm.face.holes import hole_loops


def compute_reference() -> np.ndarray:
    """(468, 3) float64 frontal reference in millimetres."""
    base = reconstruct_base_face()
    mouth, (eye_l, eye_r) = hole_loops(base.vertices, base.faces)
    return frontal_reference(base.vertices, eye_l, eye_r, mouth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=REFERENCE_ASSET)
    args = parser.parse_args()
    np.save(args.out, compute_reference())
    print(f'written: {args.out}')


if __name__ == '__main__':
    main()
