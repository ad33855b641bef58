"""Sphinx configuration of the geoconv-mm documentation (Markdown pages
through myst-parser, the API from the docstrings)."""

import os.path as osp

from geoconv_mm.version import __version__

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

project = 'geoconv-mm'
author = 'the geoconv-mm authors'
copyright = '2026, the geoconv-mm authors'
version = release = __version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.autosummary',
    'sphinx.ext.napoleon',
    'sphinx.ext.viewcode',
]
source_suffix = {'.md': 'markdown', '.rst': 'restructuredtext'}
myst_enable_extensions = ['colon_fence', 'deflist', 'dollarmath']
myst_heading_anchors = 3
exclude_patterns = ['_build']

autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_default_options = {'members': True, 'show-inheritance': True}
autosummary_generate = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = 'furo'
html_title = f'geoconv-mm {version}'
html_static_path = ['_static']
