"""The intensity heads (regression, ordinal) and the joint occurrence +
intensity head: targets, masks, predictions, and an uncoded label (9) kept
out of the loss from the prepared annotation to the gradient."""

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import geoconv_mm.models  # noqa: F401
from geoconv_mm.datasets import BP4D_INTENSITY_AU_IDS, BP4DDataset
from geoconv_mm.datasets.converters import bp4d
from geoconv_mm.datasets.transforms import PackAUInputs
from geoconv_mm.models.heads import intensity_targets
from tests.fixtures.bp4d_tree import make_bp4d_tree

IN = 6


def head(kind='AUIntensityHead', num_aus=3, **kw):
    return MODELS.build(
        dict(type=kind, num_aus=num_aus, in_channels=IN, dropout=0.0, **kw)
    )


def samples(codes, gt=None, mask=None):
    out = []
    for i, c in enumerate(codes):
        s = DataSample()
        s.set_field(torch.as_tensor(c, dtype=torch.int64), 'au_intensities')
        if gt is not None:
            s.set_field(torch.as_tensor(gt[i], dtype=torch.float32), 'gt_au')
            s.set_field(torch.as_tensor(mask[i]), 'au_mask')
        out.append(s)
    return out


CODES = [[0, 3, 9], [5, 9, 1], [2, 0, 4]]


def test_targets_mask_the_uncoded():
    target, known = intensity_targets(samples(CODES), 3, torch.device('cpu'))
    assert target.tolist() == [[0, 3, 0], [5, 0, 1], [2, 0, 4]]
    assert known.tolist() == [
        [True, True, False],
        [True, False, True],
        [True, True, True],
    ]
    with pytest.raises(KeyError, match='no au_intensities'):
        intensity_targets([DataSample()], 3, torch.device('cpu'))
    with pytest.raises(ValueError, match='2 AU intensities'):
        intensity_targets(samples([[0, 1]]), 3, torch.device('cpu'))
    with pytest.raises(ValueError, match='intensity code 7'):
        intensity_targets(samples([[0, 1, 7]]), 3, torch.device('cpu'))


def test_regression_loss_is_mse_over_coded_labels():
    torch.manual_seed(0)
    h = head()
    feats = (torch.randn(3, IN),)
    out = h(feats)
    value = h.loss(feats, samples(CODES))['loss']
    ref = [
        (out[n, a].item() - CODES[n][a]) ** 2
        for n in range(3)
        for a in range(3)
        if CODES[n][a] != 9
    ]
    assert value.item() == pytest.approx(sum(ref) / len(ref), rel=1e-5)


def test_predict_sets_clipped_intensities():
    h = head()
    with torch.no_grad():
        h.fc.weight.zero_()
        h.fc.bias.copy_(torch.tensor([-1.0, 2.5, 7.0]))
    preds = h.predict((torch.randn(2, IN),))
    assert preds[0].pred_intensity.tolist() == [0.0, 2.5, 5.0]
    assert preds[0].pred_intensity.dtype == torch.float32
    assert 'pred_score' not in preds[0]
    assert h.predicts_intensity and not h.predicts_occurrence


def test_ordinal_head_expected_intensity():
    torch.manual_seed(0)
    h = head('AUOrdinalIntensityHead')
    feats = (torch.randn(4, IN),)
    logits = h(feats)
    assert logits.shape == (4, 3, 5)
    # the thresholds start ordered: P(y > k) falls with k
    assert (logits[..., 1:] < logits[..., :-1]).all()
    preds = h.predict(feats)
    for n, p in enumerate(preds):
        torch.testing.assert_close(
            p.pred_intensity, torch.sigmoid(logits[n]).sum(-1).float()
        )
        assert ((p.pred_intensity >= 0) & (p.pred_intensity <= 5)).all()
    # the loss is the ordinal loss of the threshold logits
    value = h.loss(feats, samples(CODES + [[1, 1, 1]]))['loss']
    target, known = intensity_targets(
        samples(CODES + [[1, 1, 1]]), 3, torch.device('cpu')
    )
    torch.testing.assert_close(value, h.loss_module(logits, target, known))


def test_joint_head_losses_and_predictions():
    torch.manual_seed(0)
    h = MODELS.build(
        dict(
            type='AUOccurrenceIntensityHead',
            num_aus=3,
            in_channels=IN,
            occurrence=dict(
                type='AUHead',
                dropout=0.0,
                threshold=0.4,
                loss=dict(
                    type='AUBalancedBCELoss', use_balanced_weights=False
                ),
            ),
            intensity=dict(
                type='AUOrdinalIntensityHead',
                dropout=0.0,
                loss=dict(type='AUOrdinalLoss', loss_weight=0.5),
            ),
        )
    )
    assert h.threshold == 0.4 and h.max_intensity == 5 and h.num_aus == 3
    assert h.predicts_occurrence and h.predicts_intensity
    feats = (torch.randn(3, IN),)
    gt = [[0, 1, 0], [1, 0, 1], [1, 0, 1]]
    mask = [[True, True, False], [True, False, True], [True] * 3]
    batch = samples(CODES, gt, mask)
    losses = h.loss(feats, batch)
    assert set(losses) == {'loss_occurrence', 'loss_intensity'}
    torch.testing.assert_close(
        losses['loss_occurrence'], h.occurrence.loss(feats, batch)['loss']
    )
    torch.testing.assert_close(
        losses['loss_intensity'], h.intensity.loss(feats, batch)['loss']
    )
    preds = h.predict(feats)
    logits, ordinal = h(feats)
    for n, p in enumerate(preds):
        torch.testing.assert_close(p.pred_score, torch.sigmoid(logits[n]))
        assert p.pred_label.tolist() == (
            torch.nonzero(torch.sigmoid(logits[n]) >= 0.4).flatten().tolist()
        )
        torch.testing.assert_close(
            p.pred_intensity, torch.sigmoid(ordinal[n]).sum(-1)
        )


def test_joint_head_config_errors():
    with pytest.raises(ValueError, match="sets {'num_aus': 4}"):
        MODELS.build(
            dict(
                type='AUOccurrenceIntensityHead',
                num_aus=3,
                in_channels=IN,
                intensity=dict(type='AUIntensityHead', num_aus=4),
            )
        )
    with pytest.raises(TypeError, match='does not predict intensities'):
        MODELS.build(
            dict(
                type='AUOccurrenceIntensityHead',
                num_aus=3,
                in_channels=IN,
                intensity=dict(type='AUHead'),
            )
        )


@pytest.fixture(scope='module')
def bp4d_intensity(tmp_path_factory):
    """The BP4D fixture prepared (labels only), its intensity dataset."""
    tmp = tmp_path_factory.mktemp('bp4d')
    make_bp4d_tree(str(tmp / 'BP4D'))
    assert (
        bp4d.main(
            [str(tmp / 'BP4D'), '--out', str(tmp / 'out'), '--no-geometry']
        )
        == 0
    )
    return BP4DDataset(
        str(tmp / 'out/annotations/bp4d.json'),
        au_ids=BP4D_INTENSITY_AU_IDS,
        subjects=['F001', 'M011'],
        with_intensity=True,
    )


@pytest.mark.parametrize('kind', ['AUIntensityHead', 'AUOrdinalIntensityHead'])
def test_uncoded_label_never_reaches_the_loss(bp4d_intensity, kind):
    # The prepared annotation's 9s, packed as training packs them: the
    # gradient at every (frame, AU) that is not coded is exactly 0, and the
    # loss equals the loss of the coded labels alone.
    pack = PackAUInputs()
    batch = [
        pack(dict(info, img=np.zeros((4, 4, 3), np.uint8)))['data_samples']
        for info in (
            bp4d_intensity.get_data_info(i) for i in range(len(bp4d_intensity))
        )
    ]
    codes = torch.stack([s.au_intensities for s in batch])
    assert (codes == 9).any() and (codes != 9).any()
    torch.manual_seed(0)
    h = head(kind, num_aus=5)
    feats = torch.randn(len(batch), IN)
    target, known = intensity_targets(batch, 5, torch.device('cpu'))
    assert (known == (codes != 9)).all()
    out = h((feats,)).detach().requires_grad_(True)
    loss = h.loss_module(out, target, known)
    # the head's loss is exactly the loss of these outputs and targets
    torch.testing.assert_close(h.loss((feats,), batch)['loss'], loss)
    loss.backward()
    grad = out.grad if out.grad.dim() == 2 else out.grad.abs().sum(-1)
    assert (grad[codes == 9] == 0).all()
    assert (grad[codes != 9] != 0).any()
    if kind == 'AUIntensityHead':
        # the coded labels alone, one by one
        ref = [
            (out[n, a].item() - codes[n, a].item()) ** 2
            for n in range(len(batch))
            for a in range(5)
            if codes[n, a] != 9
        ]
        assert loss.item() == pytest.approx(sum(ref) / len(ref), rel=1e-5)
