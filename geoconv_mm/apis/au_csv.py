"""OpenFace-style per-frame AU tables."""

from __future__ import annotations

import csv
import os
from typing import List, Sequence

from .au_inferencer import AUPrediction


def au_csv_columns(au_names: Sequence[str]) -> List[str]:
    """``frame, timestamp, success, confidence``, then ``AUxx_c`` (presence 0/1) for every
    AU, then ``AUxx_p`` (probability), following OpenFace's grouping of ``_r``/``_c``."""
    return (
        ['frame', 'timestamp', 'success', 'confidence']
        + [f'{n}_c' for n in au_names]
        + [f'{n}_p' for n in au_names]
    )


def write_au_csv(
    path: str, predictions: Sequence[AUPrediction], au_names: Sequence[str]
) -> None:
    """Write one row per frame, atomically (temporary file, then rename).

    Frames without a face keep their row: ``success`` 0 and empty AU cells, never a gap.
    """
    tmp = f'{path}.tmp{os.getpid()}'
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(tmp, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(au_csv_columns(au_names))
        for p in predictions:
            row = [
                p.frame,
                f'{p.timestamp:.3f}',
                int(p.success),
                f'{p.confidence:.3f}',
            ]
            if p.success:
                row += [int(v) for v in p.presence] + [
                    f'{v:.4f}' for v in p.probabilities
                ]
            else:
                row += [''] * (2 * len(au_names))
            writer.writerow(row)
    os.replace(tmp, path)
