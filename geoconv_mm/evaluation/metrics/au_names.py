"""The AU names an AU metric reports its columns under."""

from typing import List, Optional, Sequence


def metric_au_names(
    au_names: Optional[Sequence[str]],
    dataset_meta: Optional[dict],
    num_aus: int,
) -> List[str]:
    """The metric's own ``au_names``, else the data set's ``classes``, else
    ``AU0``, ``AU1``, ...

    Args:
        au_names (Sequence[str], optional): Names the metric was built with.
        dataset_meta (dict, optional): The evaluator's data set metainfo.
        num_aus (int): Columns of the predictions.

    Returns:
        list[str]: One name per column.

    Raises:
        ValueError: The names found do not match the columns.
    """
    names = au_names
    if names is None and dataset_meta:
        names = dataset_meta.get('classes')
    if names is None:
        names = [f'AU{i}' for i in range(num_aus)]
    names = list(names)
    if len(names) != num_aus:
        raise ValueError(
            f'{len(names)} AU names {names} for {num_aus} AU columns of the '
            'predictions'
        )
    return names
