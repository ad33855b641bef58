"""Prepare DISFA (left camera): scan videos and AU intensity labels, run the
face pipeline on the video frames, write the annotation (see :mod:`.common`).

Input: ``<root>/Videos_LeftCamera/LeftVideo<SN>_comp.avi`` and
``<root>/ActionUnit_Labels/<SN>/<SN>_au<k>.txt``. Label line t belongs to video
frame t (0-based). Policy: a subject whose label folder is missing is skipped
and its video frames are reported as unlabelled; a missing file for a requested
AU of a subject that has labels is an error; a video shorter than its labels by
up to ``--max-video-shortfall`` frames is a logged skip of the trailing labels
(listed in the report), by more it is an error; video frames past the labels
are reported.

Every entry keeps the intensities (``au_intensities``, 0-5, every frame
coded) beside the occurrence labels thresholded at >= 2 (``au_labels``).
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import re
from typing import Dict, Optional, Sequence

from tqdm import tqdm

from geoconv_mm.utils.frame_io import count_video_frames

from ..au_info import (
    DISFA_LABELLED_AU_IDS,
    INTENSITY_VALUES,
    au_full_names,
    parse_au_ids,
)
from ..label_readers import read_disfa_subject
from ..protocol import DISFA_PARTS
from .common import Report, add_common_args, finish

VIDEO_SUBDIR = 'Videos_LeftCamera'
LABEL_SUBDIR = 'ActionUnit_Labels'
VIDEO_RE = re.compile(r'^LeftVideo(SN\d{3})_comp\.avi$', re.IGNORECASE)
SUBJECT_RE = re.compile(r'^SN\d{3}$')
DEFAULT_THRESHOLD = 2


def scan_subjects(
    root: str, subjects: Optional[Sequence[str]]
) -> Dict[str, dict]:
    found: Dict[str, dict] = {}
    video_dir = osp.join(root, VIDEO_SUBDIR)
    label_dir = osp.join(root, LABEL_SUBDIR)
    if not osp.isdir(label_dir):
        raise FileNotFoundError(f'no DISFA label folder {label_dir}')
    if osp.isdir(video_dir):
        for name in sorted(os.listdir(video_dir)):
            m = VIDEO_RE.match(name)
            if m:
                found.setdefault(m.group(1).upper(), {})['video'] = osp.join(
                    video_dir, name
                )
    for name in sorted(os.listdir(label_dir)):
        if SUBJECT_RE.match(name) and osp.isdir(osp.join(label_dir, name)):
            found.setdefault(name, {})['labels'] = True
    if subjects is not None:
        unknown = sorted(set(subjects) - set(found))
        if unknown:
            raise ValueError(f'--subjects {unknown} not found under {root}')
        found = {k: v for k, v in found.items() if k in set(subjects)}
    if not found:
        raise FileNotFoundError(
            f'no DISFA videos or label folders under {root}'
        )
    return dict(sorted(found.items()))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        'root',
        help='DISFA root (holds Videos_LeftCamera/ and ActionUnit_Labels/)',
    )
    parser.add_argument(
        '--max-video-shortfall',
        type=int,
        default=2,
        help='largest number of labelled frames a video may lack '
        '(reported and skipped); more is an error',
    )
    add_common_args(parser, 'all 12 labelled AUs')
    args = parser.parse_args(argv)
    au_ids = (
        parse_au_ids(args.au_ids, '--au-ids')
        if args.au_ids
        else list(DISFA_LABELLED_AU_IDS)
    )
    subjects = args.subjects.split(',') if args.subjects else None
    root = osp.abspath(args.root)
    label_root = osp.join(root, LABEL_SUBDIR)
    report = Report('DISFA')
    found = scan_subjects(root, subjects)
    entries, no_label, no_video, short, per_subject = [], [], [], [], {}
    unreadable = []
    bases = {}
    for subject, item in tqdm(
        found.items(), desc='DISFA: scanning videos and labels', unit='subject'
    ):
        video_rel = (
            osp.relpath(item['video'], root) if 'video' in item else None
        )
        n_video = None
        if video_rel is not None:
            try:
                n_video = count_video_frames(item['video'])
            except (OSError, ValueError) as exc:
                # One video that cannot be decoded is a problem of the
                # report; its labelled frames count as without a video.
                unreadable.append(dict(file=video_rel, reason=str(exc)))
        if not item.get('labels'):
            no_label.extend(
                dict(file=video_rel, frame=t) for t in range(n_video or 0)
            )
            per_subject[subject] = dict(video_frames=n_video, label_frames=0)
            continue
        intensities, base = read_disfa_subject(label_root, subject, au_ids)
        bases[subject] = base
        n_labels = len(intensities)
        per_subject[subject] = dict(
            video_frames=n_video, label_frames=n_labels
        )
        label_file = osp.relpath(osp.join(label_root, subject), root)
        if n_video is None:
            no_video.extend(
                dict(file=label_file, frame=t) for t in range(n_labels)
            )
            continue
        if n_video < n_labels:
            if n_labels - n_video > args.max_video_shortfall:
                raise ValueError(
                    f'{item["video"]} has {n_video} frames but the labels in '
                    f'{label_file} have {n_labels} (frames '
                    f'{n_video}..{n_labels - 1} missing, more than '
                    f'--max-video-shortfall={args.max_video_shortfall})'
                )
            short.extend(
                dict(file=video_rel, frame=t) for t in range(n_video, n_labels)
            )
        no_label.extend(
            dict(file=video_rel, frame=t) for t in range(n_labels, n_video)
        )
        for t in range(min(n_video, n_labels)):
            values = [int(v) for v in intensities[t]]
            entries.append(
                dict(
                    subject=subject,
                    sequence='left',
                    frame=t,
                    frame_idx=base + t,
                    source=video_rel,
                    source_frame=t,
                    au_labels=[int(v >= DEFAULT_THRESHOLD) for v in values],
                    au_intensities=values,
                    out_name=f'{subject}/{t:05d}',
                )
            )
    report.problem(
        'unreadable_video', 'videos that cannot be decoded', unreadable
    )
    report.problem(
        'video_without_labels', 'video frames without labels', no_label
    )
    report.problem(
        'labels_without_video', 'labelled frames without a video', no_video
    )
    report.problem(
        'video_shorter_than_labels',
        'labelled frames past the end of the video',
        short,
    )
    report.set('subjects', sorted(found))
    report.set(
        'subjects_not_in_protocol',
        sorted(set(found) - {s for p in DISFA_PARTS for s in p}),
    )
    report.set('per_subject', per_subject)
    report.set('label_frame_index_base', sorted(set(bases.values())))
    report.logger.info(
        f'frame mapping: label line t = video frame t (0-based); label '
        f'frameIdx starts at {sorted(set(bases.values()))}'
    )
    report.set('labelled_frames_with_image', len(entries))
    report.set('au_ids', au_ids)
    metainfo = dict(
        dataset='DISFA',
        au_ids=au_ids,
        au_names=au_full_names(au_ids),
        au_labels_threshold=DEFAULT_THRESHOLD,
        intensity_au_ids=au_ids,
        intensity_values=INTENSITY_VALUES,
        camera='left',
        source_root=root,
        geometry=not args.no_geometry,
    )
    return finish(args, root, entries, metainfo, report, default_name='disfa')
