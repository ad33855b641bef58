"""The prepare tools' geometry step on real faces (astronaut frames,
MediaPipe).
"""

import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from geoconv_mm.datasets import BP4DDataset, DISFADataset
from geoconv_mm.datasets.converters import bp4d, disfa
from tests.fixtures.builders import (
    bp4d_rows,
    disfa_video_path,
    write_bp4d_csv,
    write_bp4d_images,
    write_disfa_labels,
    write_disfa_video,
)

# MediaPipe is the optional reconstructor of requirements/mediapipe.txt.
pytest.importorskip('mediapipe')

CROP = 64


def face(shift=0):
    """The astronaut's face, 128x128 BGR, optionally shifted sideways."""
    from skimage.data import astronaut

    img = cv2.resize(
        astronaut()[..., ::-1], (128, 128), interpolation=cv2.INTER_AREA
    )
    return np.ascontiguousarray(np.roll(img, shift, axis=1))


BLANK = np.full((128, 128, 3), 90, np.uint8)


@pytest.fixture(scope='module')
def pipeline_cfg(tmp_path_factory):
    path = tmp_path_factory.mktemp('cfg') / 'face_pipeline.py'
    path.write_text(
        f"pipeline = dict(reconstructor=dict(type='MediaPipeFaceMesh'), "
        f"crop_size={CROP})\n"
    )
    return str(path)


def make_bp4d(root):
    frames = [2440, 2441, 2442]
    labels = np.zeros((3, 12), np.int64)
    labels[:, 0] = [1, 0, 9]
    write_bp4d_csv(
        osp.join(root, 'AUCoding/AU_OCC/F001_T1.csv'),
        [0, 1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24],
        bp4d_rows(
            frames, labels, [0, 1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24]
        ),
    )
    write_bp4d_images(
        root,
        'F001',
        'T1',
        frames,
        True,
        {2440: face(), 2441: face(6), 2442: BLANK},
    )


def test_bp4d_geometry_resume_and_shards(tmp_path, pipeline_cfg):
    root, out = str(tmp_path / 'BP4D'), tmp_path / 'out'
    make_bp4d(root)
    args = [root, '--out', str(out), '--pipeline-config', pipeline_cfg]
    # shard 2/2 alone cannot write the annotation: the other shard's frames are
    # pending
    assert bp4d.main(args + ['--shard', '2/2']) == 0
    assert not (out / 'annotations/bp4d.json').exists()
    assert (
        json.loads((out / 'prepare_report.json').read_text())[
            'geometry_pending'
        ]
        == 2
    )
    assert bp4d.main(args + ['--shard', '1/2']) == 0  # completes the job
    sharded = json.loads((out / 'annotations/bp4d.json').read_text())
    assert bp4d.main(args) == 0
    report = json.loads((out / 'prepare_report.json').read_text())
    assert [p['frame'] for p in report['problems']['geometry_no_face']] == [
        2442
    ]
    ann = json.loads((out / 'annotations/bp4d.json').read_text())
    assert ann == sharded
    assert [e['frame'] for e in ann['data_list']] == [2440, 2441]
    for e in ann['data_list']:
        crop = cv2.imread(str(out / e['img_path']))
        assert crop.shape == (CROP, CROP, 3)
        assert osp.isfile(out / e['geo_path'])
    record = out / ann['data_list'][0]['geo_path']
    stamp = os.stat(record).st_mtime_ns
    assert bp4d.main(args) == 0  # resume: nothing recomputed
    assert os.stat(record).st_mtime_ns == stamp
    assert json.loads((out / 'annotations/bp4d.json').read_text()) == ann

    ds = BP4DDataset(
        'annotations/bp4d.json',
        data_root=str(out),
        au_ids=[1],
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadFaceSurface'),
            dict(type='RandomFlipFace', prob=1.0),
            dict(
                type='GenerateGeodesicWeights',
                specs=[dict(in_stride=4, kernel_size=3, padding=1)],
            ),
            dict(type='PackAUInputs'),
        ],
    )
    sample = ds[0]['data_samples']
    assert sample.gt_au.tolist() == [1.0]
    w = sample.geo_weights['S4_k3x3_s1x1_p1x1_d1x1']
    assert (
        w.shape == (9, CROP // 4, CROP // 4) and w.std() > 0
    )  # a real face is not flat
    os.unlink(record)
    with pytest.raises(
        FileNotFoundError, match=r'frame 2440: missing geodesic record'
    ):
        ds[0]


def test_disfa_geometry_from_video(tmp_path, pipeline_cfg):
    root, out = str(tmp_path / 'DISFA'), tmp_path / 'out'
    write_disfa_video(
        disfa_video_path(root, 'SN001'), [face(), BLANK, face(-6)]
    )
    write_disfa_labels(root, 'SN001', {1: [0, 2, 4], 2: [1, 1, 1]})
    assert (
        disfa.main(
            [
                root,
                '--out',
                str(out),
                '--pipeline-config',
                pipeline_cfg,
                '--au-ids',
                '1,2',
                '--workers',
                '2',
            ]
        )
        == 0
    )
    report = json.loads((out / 'prepare_report.json').read_text())
    assert [p['frame'] for p in report['problems']['geometry_no_face']] == [1]
    ds = DISFADataset(
        'annotations/disfa.json', data_root=str(out), au_ids=[1, 2]
    )
    assert len(ds) == 2
    assert [ds.get_data_info(i)['frame'] for i in range(2)] == [0, 2]
    assert ds.get_data_info(1)['gt_au'].tolist() == [1, 0]
    assert cv2.imread(ds.get_data_info(1)['img_path']).shape == (CROP, CROP, 3)
