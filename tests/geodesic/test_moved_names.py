"""Names that moved out of geoconv_mm.geodesic still import, with a
DeprecationWarning, and are the new objects."""

import importlib
import sys

import pytest

import geoconv_mm.face as face
from geoconv_mm.datasets.converters import jobs
from geoconv_mm.utils import frame_io


@pytest.mark.parametrize(
    'name',
    [
        'FacePipeline',
        'NoFaceError',
        'RawFace',
        'RECONSTRUCTORS',
        'facemesh_faces',
    ],
)
def test_package_attributes(name):
    import geoconv_mm.geodesic as geodesic

    with pytest.warns(DeprecationWarning, match=name):
        assert getattr(geodesic, name) is getattr(face, name)


def test_load_image_is_the_frame_reader():
    import geoconv_mm.geodesic as geodesic

    with pytest.warns(DeprecationWarning):
        assert geodesic.load_image is frame_io.read_image


@pytest.mark.parametrize(
    'module,name,new',
    [
        ('geoconv_mm.geodesic.pipeline', 'FacePipeline', face.FacePipeline),
        (
            'geoconv_mm.geodesic.pipeline',
            'DEFAULT_TEMPLATE',
            face.DEFAULT_TEMPLATE,
        ),
        (
            'geoconv_mm.geodesic.reconstructors',
            'keypoints_from_holes',
            face.keypoints_from_holes,
        ),
        ('geoconv_mm.geodesic.jobs', 'process_frames', jobs.process_frames),
        ('geoconv_mm.apis.frame_sources', 'FrameSource', frame_io.FrameSource),
    ],
)
def test_old_modules(module, name, new):
    sys.modules.pop(module, None)
    if module.startswith('geoconv_mm.geodesic'):
        with pytest.warns(DeprecationWarning, match='moved'):
            mod = importlib.import_module(module)
    else:
        mod = importlib.import_module(module)
    assert getattr(mod, name) is new


def test_unknown_attribute_still_raises():
    import geoconv_mm.geodesic as geodesic

    with pytest.raises(AttributeError, match='no_such_name'):
        geodesic.no_such_name
