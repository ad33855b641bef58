"""Fixtures shared across test packages: a real photo, the face pipeline, the
five GeoCNN scales."""

import cv2
import pytest


@pytest.fixture(scope='session')
def astronaut_bgr():
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope='session')
def pipeline():
    pytest.importorskip('mediapipe')
    from geoconv_mm.face import FacePipeline

    return FacePipeline()


@pytest.fixture(scope='session')
def astronaut(pipeline, astronaut_bgr):
    return pipeline.process(astronaut_bgr, name='astronaut')


@pytest.fixture(scope='session')
def face_specs():
    from geoconv_mm.ops.geo_spec import GeoSpec

    return [GeoSpec(s) for s in (1, 2, 4, 8, 16)]
