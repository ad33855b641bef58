"""The registered SynthAU dataset: builds itself on first use, then reads like
BP4D.
"""

from __future__ import annotations

import json
import os.path as osp
from typing import Optional, Sequence

from mmengine.dist import get_dist_info
from mmpretrain.registry import DATASETS

from ..au_dataset import AUDataset
from .action_units import SYNTHAU_AU_IDS
from .generator import ANNOTATION, SynthAUSpec, generate_synthau


@DATASETS.register_module()
class SynthAUDataset(AUDataset):
    """SynthAU: rendered 3D faces with known AUs and the ground-truth mesh of
    every image, in subject-exclusive parts like BP4D (``fold``/``split`` as
    :class:`BP4DDataset`; fold k tests on part N+1-k).

    The first use generates the data into ``<data_root>/<spec key>/`` (about 30
    ms per image on one CPU core; interrupted builds resume, concurrent
    processes wait for one builder); later uses read the cache.

    Args:
        data_root (str): Cache folder of builds.
        generator (dict): :class:`SynthAUSpec` fields (seed, num_subjects,
            images_per_subject, image_size, num_parts, geometry, max_yaw, ...).
        au_ids (Sequence[int], optional): AUs to use; default all 15
            (:data:`SYNTHAU_AU_IDS`); ``BP4D_AU_IDS`` or ``DISFA_AU_IDS`` mimic
            those.
        fold (int, optional): 1-based fold; with ``split``.
        split (str, optional): 'train' or 'test'.
        progress (bool): Show the generator's progress bar.
        **kwargs: As :class:`AUDataset` (pipeline, subjects,
            intensity_threshold...).
    """

    DEFAULT_AU_IDS = SYNTHAU_AU_IDS
    DATASET_NAME = 'SynthAU'

    def __init__(
        self,
        data_root: str = 'data/synthau',
        generator: Optional[dict] = None,
        au_ids: Optional[Sequence[int]] = None,
        fold: Optional[int] = None,
        split: Optional[str] = None,
        progress: bool = True,
        **kwargs,
    ):
        for key in ('ann_file', 'data_prefix', 'parts'):
            if key in kwargs:
                raise ValueError(
                    f'SynthAUDataset sets {key} itself; got {key}='
                    f'{kwargs[key]!r}'
                )
        try:
            self.spec = SynthAUSpec(**(generator or {}))
        except TypeError as exc:
            raise TypeError(f'SynthAUDataset generator: {exc}') from exc
        rank, _ = get_dist_info()
        build = generate_synthau(
            data_root, self.spec, progress=progress and rank == 0
        )
        ann_file = osp.join(build, ANNOTATION)
        with open(ann_file) as fh:
            parts = json.load(fh)['metainfo']['parts']
        self.build_dir = build
        super().__init__(
            ann_file=ann_file,
            au_ids=au_ids,
            fold=fold,
            split=split,
            parts=parts,
            data_root=build,
            data_prefix=build,
            **kwargs,
        )
