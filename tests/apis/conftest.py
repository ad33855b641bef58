"""Fixtures of the inference tests."""

import pytest

from tests.fixtures.au_model import save_tiny_au_model


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    return save_tiny_au_model(tmp_path_factory.mktemp('model'))
