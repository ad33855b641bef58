"""Prepare BP4D for training: aligned crops, FaceSurface records, annotation
JSON.

Usage::

    python tools/dataset_converters/prepare_bp4d.py /data/BP4D \\
        --out data/bp4d --workers 8
    python tools/dataset_converters/prepare_bp4d.py /data/BP4D \\
        --out data/bp4d --no-geometry

See geoconv_mm/datasets/converters/bp4d.py for the input layout and the policy
on missing or bad data; ``--help`` lists every option.
"""

import sys

from geoconv_mm.datasets.converters.bp4d import main

if __name__ == '__main__':
    sys.exit(main())
