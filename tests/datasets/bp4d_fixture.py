"""A small BP4D tree with hand-chosen labels (see test_bp4d.py for the hand counts)."""
import os.path as osp

import numpy as np
from builders import bp4d_rows, write_bp4d_csv, write_bp4d_images

PROTOCOL = [1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]


def labels(columns):
    """(T, 12) array from {AU: values}; unspecified AUs are 0."""
    t = len(next(iter(columns.values())))
    out = np.zeros((t, 12), np.int64)
    for au, values in columns.items():
        out[:, PROTOCOL.index(au)] = values
    return out


#: (subject, task) -> CSV frames, labels of AUs 1, 2, 4, 12, image numbers, padded
SEQUENCES = {
    ('F001', 'T1'): (list(range(2440, 2445)),
                     {1: [1, 0, 1, 9, 0], 2: [0] * 5, 4: [9] * 5, 12: [1] * 5},
                     list(range(2440, 2446)), True),
    ('F001', 'T2'): ([10, 11, 12], {1: [1, 1, 1], 2: [9, 1, 1], 4: [0, 0, 0],
                                    12: [0, 1, 1]}, [10, 11], False),
    ('M011', 'T1'): ([100, 101, 102], {1: [0, 9, 1], 2: [1, 1, 1], 4: [1, 0, 9],
                                       12: [9, 9, 9]}, [100, 101, 102], True),
    ('F007', 'T1'): ([5, 6], {1: [1, 1], 2: [0, 1], 4: [0, 0], 12: [0, 0]}, [5, 6], False),
}


def make_bp4d_tree(root, offset=0, images=None):
    """Write the tree; image numbers are shifted by ``offset`` (jpg = frame + offset)."""
    for (subject, task), (frames, cols, numbers, padded) in SEQUENCES.items():
        write_bp4d_csv(osp.join(root, 'AUCoding', 'AU_OCC', f'{subject}_{task}.csv'),
                       *_header_rows(frames, cols))
        write_bp4d_images(root, subject, task, [n + offset for n in numbers], padded,
                          images)
    # a sequence with images and no label file
    write_bp4d_images(root, 'F018', 'T3', [1, 2], True, images)


def _header_rows(frames, cols):
    from builders import BP4D_HEADER
    return BP4D_HEADER, bp4d_rows(frames, labels(cols))
