"""What the AU metrics read: a data sample's AU scores, labels and validity
mask, and the names of their columns."""

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch


def _flat(value) -> torch.Tensor:
    flat = torch.as_tensor(value).detach().cpu().flatten()
    # NumPy has no bfloat16 (the scores of a test loop under CPU autocast).
    return flat.float() if flat.dtype == torch.bfloat16 else flat


def au_sample_arrays(
    sample: dict, index: int, metric: str
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A data sample's AU scores, labels and validity mask, flattened.

    Args:
        sample (dict): A data sample as the model's ``predict`` returns it,
            with ``pred_score`` and ``gt_au`` and, optionally, ``au_mask``
            (all labels valid without one).
        index (int): Its place in the batch, for the error.
        metric (str): The metric's name, for the error.

    Returns:
        tuple: scores (their dtype), labels and the boolean mask, (A,) each.

    Raises:
        KeyError: The sample has no scores or labels.
    """
    missing = [k for k in ('pred_score', 'gt_au') if k not in sample]
    if missing:
        raise KeyError(f'{metric}: data sample {index} has no {missing}')
    gt = _flat(sample['gt_au'])
    mask = sample.get('au_mask')
    mask = (
        torch.ones_like(gt, dtype=torch.bool)
        if mask is None
        else _flat(mask).bool()
    )
    return _flat(sample['pred_score']).numpy(), gt.numpy(), mask.numpy()


def metric_au_names(
    au_names: Optional[Sequence[str]],
    dataset_meta: Optional[dict],
    num_aus: int,
    metric: str,
) -> List[str]:
    """The metric's own ``au_names``, else the data set's ``classes``, else
    ``AU0``, ``AU1``, ...

    Args:
        au_names (Sequence[str], optional): Names the metric was built with.
        dataset_meta (dict, optional): The evaluator's data set metainfo.
        num_aus (int): Columns of the predictions.
        metric (str): The metric's name, for the error.

    Returns:
        list[str]: One name per column.

    Raises:
        ValueError: The names found do not match the columns.
    """
    source = 'its au_names'
    names = au_names
    if names is None and dataset_meta:
        source = "the data set's classes"
        names = dataset_meta.get('classes')
    if names is None:
        return [f'AU{i}' for i in range(num_aus)]
    names = list(names)
    if len(names) != num_aus:
        raise ValueError(
            f'{metric}: {len(names)} AU names from {source} ({names}) for '
            f'{num_aus} AU columns of the predictions'
        )
    return names
