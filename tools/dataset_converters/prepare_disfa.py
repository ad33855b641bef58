"""Prepare DISFA for training: aligned crops, FaceSurface records, annotation
JSON.

Usage::

    python tools/dataset_converters/prepare_disfa.py /data/DISFA \\
        --out data/disfa --workers 8
    python tools/dataset_converters/prepare_disfa.py /data/DISFA \\
        --out data/disfa --no-geometry

See geoconv_mm/datasets/converters/disfa.py for the input layout and the policy
on missing or bad data; ``--help`` lists every option.
"""

import sys

from geoconv_mm.datasets.converters.disfa import main

if __name__ == '__main__':
    sys.exit(main())
