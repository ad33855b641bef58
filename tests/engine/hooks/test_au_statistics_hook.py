"""AUStatisticsHook hands the training split's counts to the balanced loss."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset, ConcatDataset, RepeatDataset
from mmengine.logging import MMLogger

from geoconv_mm.engine import AUStatisticsHook, find_au_statistics
from geoconv_mm.models.losses import AUBalancedBCELoss


class CountingDataset(BaseDataset):
    """Stands in for an AUDataset: only the counts matter here."""

    def __init__(self, known, positive):
        self.stats = dict(
            num_known=np.array(known), num_positive=np.array(positive)
        )
        super().__init__(metainfo=dict(classes=('AU1', 'AU2')), lazy_init=True)

    def __len__(self):
        return 1

    def get_au_statistics(self):
        return self.stats

    def full_init(self):
        pass


def runner_for(dataset, model):
    return SimpleNamespace(
        model=model,
        train_dataloader=SimpleNamespace(dataset=dataset),
        logger=MMLogger.get_instance('test_au_statistics_hook'),
    )


def test_wrappers_are_looked_through():
    a, b = CountingDataset([4, 6], [1, 2]), CountingDataset([10, 2], [5, 1])
    stats = find_au_statistics(ConcatDataset([a, b]))
    assert stats['num_known'].tolist() == [14, 8]
    assert stats['num_positive'].tolist() == [6, 3]
    # Repeating a split scales all counts alike, which leaves Eq. 6 unchanged.
    stats = find_au_statistics(RepeatDataset(b, times=3))
    assert stats['num_known'].tolist() == [10, 2]
    assert find_au_statistics(SimpleNamespace()) is None


def test_hook_sets_statistics_on_the_loss():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), AUBalancedBCELoss())
    AUStatisticsHook().before_train(
        runner_for(CountingDataset([8, 6], [2, 3]), model)
    )
    # n/npos = (4, 2) -> w = (2/3, 1/3); p = (3, 1)
    torch.testing.assert_close(
        model[1].au_weight, torch.tensor([2 / 3, 1 / 3], dtype=torch.float64)
    )
    torch.testing.assert_close(
        model[1].pos_weight, torch.tensor([3.0, 1.0], dtype=torch.float64)
    )


def test_hook_fails_clearly_without_statistics():
    model = torch.nn.Sequential(AUBalancedBCELoss())
    runner = runner_for(SimpleNamespace(), model)
    with pytest.raises(RuntimeError, match='has no get_au_statistics'):
        AUStatisticsHook().before_train(runner)
    # The unbalanced loss ("w/o BW") does not need them.
    AUStatisticsHook().before_train(
        runner_for(
            SimpleNamespace(),
            torch.nn.Sequential(AUBalancedBCELoss(use_balanced_weights=False)),
        )
    )
