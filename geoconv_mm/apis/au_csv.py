"""OpenFace-style AU tables: one row per (frame, face)."""

from __future__ import annotations

import csv
import os
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

from geoconv_mm.face.head_pose import POSE_KEYS

from .au_prediction import OUTPUT_FIELDS, AUPrediction


class AUColumnGroup(NamedTuple):
    """One column per AU, named ``AUxx_<suffix>``.

    Args:
        suffix (str): The columns' suffix (OpenFace: ``r`` intensity, ``c``
            presence).
        meaning (str): What a cell holds, for the documentation.
        cells (callable): The group's A cells of a successful prediction.
        output (str): The network output the cells come from, a key of
            :data:`~geoconv_mm.apis.au_prediction.OUTPUT_FIELDS`
            (``occurrence`` or ``intensity``): a model without it has no
            such columns.
    """

    suffix: str
    meaning: str
    cells: Callable[[AUPrediction], List[str]]
    output: str = 'occurrence'


#: The per-AU column groups, in the table's order (OpenFace's: intensity
#: ``_r`` before presence ``_c``).
AU_COLUMN_GROUPS = (
    AUColumnGroup(
        'r',
        "intensity 0-5 (OpenFace's scale)",
        lambda p: [f'{v:.4f}' for v in p.intensities],
        'intensity',
    ),
    AUColumnGroup(
        'c',
        "presence 0/1 at the model's threshold",
        lambda p: [str(int(v)) for v in p.presence],
    ),
    AUColumnGroup(
        'p', 'probability', lambda p: [f'{v:.4f}' for v in p.probabilities]
    ),
)


def au_column_groups(
    occurrence: bool = True, intensity: bool = False
) -> Tuple[AUColumnGroup, ...]:
    """The groups of :data:`AU_COLUMN_GROUPS` of a model's outputs, in the
    table's order: ``_c`` and ``_p`` for occurrence, ``_r`` for
    intensity."""
    given = {'occurrence': occurrence, 'intensity': intensity}
    return tuple(g for g in AU_COLUMN_GROUPS if given[g.output])


#: The groups of a model with an occurrence output only.
OCCURRENCE_GROUPS = au_column_groups()


def au_csv_columns(
    au_names: Sequence[str],
    groups: Sequence[AUColumnGroup] = OCCURRENCE_GROUPS,
) -> List[str]:
    """The table's columns.

    ``frame, face_id, timestamp, confidence, success`` as OpenFace writes
    them, then ``status`` and ``reason`` (why ``success`` is 0), the head
    pose ``pose_Tx`` ... ``pose_Rz`` (mm, radians), then one column per AU
    of each group of ``groups``: for a model with both outputs
    ``AUxx_r`` (intensity) for every AU, then ``AUxx_c`` (presence), then
    ``AUxx_p`` (probability).
    """
    return (
        ['frame', 'face_id', 'timestamp', 'confidence', 'success']
        + ['status', 'reason']
        + list(POSE_KEYS)
        + [f'{n}_{g.suffix}' for g in groups for n in au_names]
    )


def _one_line(text: str) -> str:
    return ' '.join(text.split())


class AUCsvWriter:
    """Writes prediction rows as they come, flushed one by one, so that an
    interrupted run keeps every row written before it stopped.

    Rows without a face keep their place: ``success`` 0, the ``status`` and
    ``reason``, empty AU cells, and empty face and pose cells unless the
    detector or the mesh gave them, never a gap.

    Args:
        path (str): The CSV file (its folder is created).
        au_names (Sequence[str]): AU names of the model's outputs.
        groups (Sequence[AUColumnGroup]): The per-AU column groups of the
            model's outputs (:func:`au_column_groups`).
    """

    def __init__(
        self,
        path: str,
        au_names: Sequence[str],
        groups: Sequence[AUColumnGroup] = OCCURRENCE_GROUPS,
    ) -> None:
        self.path = path
        self.num_aus = len(au_names)
        self.groups = tuple(groups)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._file = open(path, 'w', newline='')
        self._writer = csv.writer(self._file)
        self._writer.writerow(au_csv_columns(au_names, self.groups))
        self._file.flush()
        self.rows = 0

    def write(self, p: AUPrediction) -> None:
        """Append the row of one prediction and flush it to the file."""
        row = [
            p.frame,
            '' if p.face_id is None else p.face_id,
            f'{p.timestamp:.3f}',
            f'{p.confidence:.3f}',
            int(p.success),
            p.status,
            '' if p.success else _one_line(p.reason),
        ]
        row += (
            [f'{p.pose[k]:.4f}' for k in POSE_KEYS]
            if p.pose
            else [''] * len(POSE_KEYS)
        )
        for group in self.groups:
            if p.success:
                if getattr(p, OUTPUT_FIELDS[group.output]) is None:
                    raise ValueError(
                        f'{self.path}: frame {p.frame} has no AU '
                        f'{group.output} for the AUxx_{group.suffix} columns'
                    )
                cells = group.cells(p)
                if len(cells) != self.num_aus:
                    raise ValueError(
                        f'{self.path}: {len(cells)} AU{group.suffix} values '
                        f'for {self.num_aus} AUs (frame {p.frame})'
                    )
                row += cells
            else:
                row += [''] * self.num_aus
        self._writer.writerow(row)
        self._file.flush()
        self.rows += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> 'AUCsvWriter':
        return self

    def __exit__(self, *exc: Optional[BaseException]) -> None:
        self.close()


def write_au_csv(
    path: str,
    predictions: Sequence[AUPrediction],
    au_names: Sequence[str],
    groups: Sequence[AUColumnGroup] = OCCURRENCE_GROUPS,
) -> None:
    """Write one row per prediction (see :class:`AUCsvWriter`)."""
    with AUCsvWriter(path, au_names, groups) as writer:
        for p in predictions:
            writer.write(p)
