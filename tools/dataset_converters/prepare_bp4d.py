"""Prepare BP4D for training: aligned crops, FaceSurface records, annotation
JSON.

Usage::

    python tools/dataset_converters/prepare_bp4d.py /data/BP4D \\
        --out data/bp4d --workers 8
    python tools/dataset_converters/prepare_bp4d.py /data/BP4D \\
        --out data/bp4d --no-geometry

See geoconv_mm/datasets/converters/bp4d.py for the input layout and the policy
on missing or bad data; ``--help`` lists every option. A read-only
``--out``, a face pipeline that cannot start, or a second run of the same
shard in the same folder stops the run at once with one line.
"""

import sys

from geoconv_mm.datasets.converters.bp4d import main
from geoconv_mm.datasets.converters.jobs import ShardBusyError
from geoconv_mm.utils.worker_pool import WorkerStartError

if __name__ == '__main__':
    try:
        sys.exit(main())
    except (WorkerStartError, ShardBusyError) as err:
        sys.exit(f'prepare_bp4d.py: {err}')
