"""Write a test set's AU scores, labels and subjects to one compact .npz
file.
"""

from __future__ import annotations

import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from geoconv_mm.utils.atomic_io import atomic_savez

from .au_metric_inputs import au_sample_arrays


def _subject_of(sample: dict) -> str:
    subject = sample.get('subject')
    if subject is None:
        # AU datasets store frames as <...>/<subject>/<frame>.<ext>.
        path = sample.get('img_path')
        if path is None:
            raise KeyError(
                'AUPredictionDump: a data sample has neither "subject" nor '
                '"img_path" (keep them in PackAUInputs meta_keys)'
            )
        subject = osp.basename(osp.dirname(path))
    return str(subject)


def load_predictions(path: str) -> Dict[str, np.ndarray]:
    """Read an :class:`AUPredictionDump` file.

    Returns:
        dict: ``scores`` float32 (N, A), ``gt`` uint8 (N, A), ``mask`` bool
        (N, A), ``subjects`` str (N,) and ``au_names`` str (A,); for an
        intensity model also ``intensity`` float32 (N, A), the estimates,
        and ``intensity_codes`` uint8 (N, A), the labels (9 = not coded).
    """
    try:
        with np.load(path) as data:
            names = data['subject_names']
            out = dict(
                scores=data['scores'],
                gt=data['gt'],
                mask=data['mask'],
                subjects=names[data['subject_index']],
                au_names=data['au_names'],
            )
            if 'intensity' in data.files:
                out['intensity'] = data['intensity']
                out['intensity_codes'] = data['intensity_codes']
            return out
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f'{path}: not an AU prediction dump ({exc})') from exc


@METRICS.register_module()
class AUPredictionDump(BaseMetric):
    """Dumps per-frame predictions so that uncertainty can be computed later.

    A second evaluator next to :class:`AUF1Metric`; it returns no metric. The
    file holds float32 scores, uint8 labels, the bool validity mask, and each
    frame's subject (an index into the sorted subject names): about 30 KB for
    500 frames x 15 AUs, compressed. For a model that estimates intensity
    (``pred_intensity``) on data with intensity labels (``au_intensities``),
    it also holds both, the uncoded labels as 9.

    Args:
        out_file (str): Where to write the .npz (atomically).
        collect_device (str): As :class:`BaseMetric`.
        prefix (str, optional): As :class:`BaseMetric`.
    """

    default_prefix = 'au_dump'

    def __init__(
        self,
        out_file: str,
        collect_device: str = 'cpu',
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not str(out_file).endswith('.npz'):
            raise ValueError(
                f'AUPredictionDump out_file must end in .npz, got {out_file!r}'
            )
        self.out_file = out_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for i, sample in enumerate(data_samples):
            score, gt, mask = au_sample_arrays(sample, i, 'AUPredictionDump')
            result = dict(
                score=score.astype(np.float32),
                gt=gt,
                mask=mask,
                subject=_subject_of(sample),
            )
            if 'pred_intensity' in sample and 'au_intensities' in sample:
                result['intensity'] = (
                    torch.as_tensor(sample['pred_intensity'])
                    .detach()
                    .cpu()
                    .flatten()
                    .float()
                    .numpy()
                )
                result['intensity_codes'] = (
                    torch.as_tensor(sample['au_intensities'])
                    .detach()
                    .cpu()
                    .flatten()
                    .numpy()
                )
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('AUPredictionDump got no samples')
        subjects = [r['subject'] for r in results]
        names = sorted(set(subjects))
        index = {s: i for i, s in enumerate(names)}
        au_names = (self.dataset_meta or {}).get('classes')
        num_aus = len(results[0]['score'])
        au_names = (
            list(au_names)
            if au_names is not None
            else [f'AU{i}' for i in range(num_aus)]
        )
        intensity = {}
        if all('intensity' in r for r in results):
            intensity = dict(
                intensity=np.stack([r['intensity'] for r in results]),
                intensity_codes=np.stack(
                    [r['intensity_codes'] for r in results]
                ).astype(np.uint8),
            )
        atomic_savez(
            self.out_file,
            scores=np.stack([r['score'] for r in results]).astype(np.float32),
            gt=np.stack([r['gt'] for r in results]).round().astype(np.uint8),
            mask=np.stack([r['mask'] for r in results]).astype(bool),
            subject_index=np.array([index[s] for s in subjects], np.int16),
            subject_names=np.array(names),
            au_names=np.array(au_names),
            **intensity,
        )
        return {}
