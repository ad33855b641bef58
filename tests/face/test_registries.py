"""The face registries build from themselves under any default scope, with
no MMEngine fallback warning."""

import logging

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope, Registry

from geoconv_mm.face import (
    FACE_DETECTORS,
    RECONSTRUCTORS,
    WholeImageDetector,
)
from geoconv_mm.face.registries import build_from_own_registry


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


@pytest.mark.parametrize('scope', [None, 'mmpretrain', 'mmdet', 'geoconv_mm'])
def test_built_from_any_scope_without_a_warning(scope):
    records = Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(records)
    try:
        if scope is None:
            det = FACE_DETECTORS.build(dict(type='WholeImageDetector'))
        else:
            with DefaultScope.overwrite_default_scope(scope):
                if DefaultScope.get_current_instance() is None:
                    DefaultScope.get_instance(
                        f'test-{scope}', scope_name=scope
                    )
                det = FACE_DETECTORS.build(dict(type='WholeImageDetector'))
    finally:
        logger.removeHandler(records)
    assert isinstance(det, WholeImageDetector)
    assert records.messages == []


def test_scoped_names_classes_and_errors():
    assert isinstance(
        FACE_DETECTORS.build(dict(type='geoconv_mm.WholeImageDetector')),
        WholeImageDetector,
    )
    assert isinstance(
        FACE_DETECTORS.build(dict(type=WholeImageDetector)),
        WholeImageDetector,
    )
    with pytest.raises(KeyError, match='Nope.*registered: .*WholeImage'):
        FACE_DETECTORS.build(dict(type='Nope'))
    with pytest.raises(KeyError, match='needs a "type"'):
        RECONSTRUCTORS.build(dict(pattern='x'))


def test_default_args_are_overridden_by_the_config():
    reg = Registry(
        'thing', scope='geoconv_mm', build_func=build_from_own_registry
    )

    @reg.register_module()
    class Thing:
        def __init__(self, a=0, b=0):
            self.a, self.b = a, b

    t = reg.build(dict(type='Thing', a=1), default_args=dict(a=5, b=2))
    assert (t.a, t.b) == (1, 2)
