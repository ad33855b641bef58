"""Cluster array jobs: ``--shard i/N`` runs task i of N of a job.

Shards count from 1, as the task ids of Slurm (``--array=1-N``), SGE
(``-t 1-N``, which cannot start at 0) and PBS arrays do, so that
``--shard ${SLURM_ARRAY_TASK_ID}/N`` needs no arithmetic. Every tool with a
``--shard`` option reads it and splits its work here.
"""

import argparse
from typing import List, Sequence, Tuple, TypeVar

T = TypeVar('T')


def parse_shard(text: str) -> Tuple[int, int]:
    """``'i/N'`` -> (i, N), task i of N with 1 <= i <= N.

    Args:
        text (str): The option's value, e.g. ``'3/8'``.

    Returns:
        tuple[int, int]: (i, N).

    Raises:
        argparse.ArgumentTypeError: ``text`` is not ``i/N`` with
            1 <= i <= N; as an option's ``type=``, argparse prefixes the
            option's name to the message.
    """
    try:
        index, count = (int(v) for v in text.split('/'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'must be i/N (e.g. 3/8), got {text!r}'
        ) from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(
            f'i/N needs 1 <= i <= N (shards count from 1), got {text}'
        )
    return index, count


def take_shard(items: Sequence[T], index: int, count: int) -> List[T]:
    """The items of shard ``index`` of ``count``.

    Shard i takes items i, i + count, i + 2 count, ... (counting from 1), so
    that every shard gets its share of each part of the list.

    Args:
        items (Sequence): The whole job's items, in the same order for every
            shard.
        index (int): The shard, 1 <= index <= count.
        count (int): How many shards.

    Returns:
        list: This shard's items.

    Raises:
        ValueError: Not 1 <= index <= count.
    """
    if not 1 <= index <= count:
        raise ValueError(
            f'shard must be (i, N) with 1 <= i <= N, got ({index}, {count})'
        )
    return list(items)[index - 1 :: count]
