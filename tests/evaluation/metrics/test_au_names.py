"""The AU names of a metric's columns."""

import pytest

from geoconv_mm.evaluation.metrics.au_names import metric_au_names


def test_au_names_come_from_the_metric_then_the_data_set():
    meta = dict(classes=('AU1', 'AU2'))
    assert metric_au_names(['a', 'b'], meta, 2) == ['a', 'b']
    assert metric_au_names(None, meta, 2) == ['AU1', 'AU2']
    assert metric_au_names(None, None, 3) == ['AU0', 'AU1', 'AU2']
    with pytest.raises(ValueError, match='2 AU names .* for 3 AU columns'):
        metric_au_names(None, meta, 3)
