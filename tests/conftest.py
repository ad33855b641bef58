"""Fixtures shared across test packages: a real photo, the face pipeline, the
five GeoCNN scales."""

import pytest


@pytest.fixture(scope='session')
def astronaut_bgr():
    from geoconv_mm.face.samples import astronaut_bgr

    return astronaut_bgr()


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
