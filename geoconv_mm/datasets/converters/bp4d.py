"""Prepare BP4D-Spontaneous: scan images and AU_OCC labels, run the face
pipeline, write the annotation (see :mod:`.common` for the output layout and
the skip policy).

Input: ``<root>/<subject>/<task>/<frame>.jpg`` (unpadded or zero-padded
numbers) and ``<root>/AUCoding/AU_OCC/<subject>_<task>.csv``. A sequence folder
without a label file, labelled frames without images and images without labels
are logged and listed in the report. Bad label content is an error (see
``label_readers``).
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

from ..au_info import BP4D_AU_IDS, au_full_names, parse_au_ids
from ..label_readers import list_frame_images, read_bp4d_occ_csv
from ..protocol import BP4D_PARTS
from .common import Report, add_common_args, finish

SUBJECT_RE = re.compile(r'^[FM]\d{3}$')
TASK_RE = re.compile(r'^T\d+$')
LABEL_SUBDIR = osp.join('AUCoding', 'AU_OCC')
#: jpg number = CSV frame + offset; 0 in the common copies, -1 in one loader.
OFFSETS = (0, -1)


def scan_sequences(
    root: str, subjects: Optional[Sequence[str]]
) -> Dict[tuple, dict]:
    """Find ``(subject, task)`` sequences from image folders and label
    files.
    """
    seqs: Dict[tuple, dict] = {}
    for subject in sorted(os.listdir(root)):
        sdir = osp.join(root, subject)
        if SUBJECT_RE.match(subject) and osp.isdir(sdir):
            for task in sorted(os.listdir(sdir)):
                if TASK_RE.match(task) and osp.isdir(osp.join(sdir, task)):
                    seqs.setdefault((subject, task), {})['img_dir'] = osp.join(
                        sdir, task
                    )
    label_dir = osp.join(root, LABEL_SUBDIR)
    if not osp.isdir(label_dir):
        raise FileNotFoundError(f'no BP4D label folder {label_dir}')
    for name in sorted(os.listdir(label_dir)):
        stem, ext = osp.splitext(name)
        parts = stem.split('_')
        if (
            ext.lower() != '.csv'
            or len(parts) != 2
            or not SUBJECT_RE.match(parts[0])
            or not TASK_RE.match(parts[1])
        ):
            continue
        seqs.setdefault((parts[0], parts[1]), {})['csv'] = osp.join(
            label_dir, name
        )
    if subjects is not None:
        unknown = sorted(set(subjects) - {s for s, _ in seqs})
        if unknown:
            raise ValueError(f'--subjects {unknown} not found under {root}')
        seqs = {k: v for k, v in seqs.items() if k[0] in set(subjects)}
    if not seqs:
        raise FileNotFoundError(
            f'no BP4D sequences (<subject>/<task>/ or label CSVs) under {root}'
        )
    return dict(sorted(seqs.items()))


def detect_offset(
    seqs: Dict[tuple, dict], requested: str, report: Report
) -> int:
    """Choose the frame-number-to-image mapping that matches the most labelled
    frames.
    """
    matches = {o: 0 for o in OFFSETS}
    first_ok = {o: 0 for o in OFFSETS}
    with_both = 0
    for seq in seqs.values():
        if 'frames' not in seq or 'images' not in seq:
            continue
        with_both += 1
        for o in OFFSETS:
            matches[o] += sum(
                int(f) + o in seq['images'] for f in seq['frames']
            )
            first_ok[o] += int(seq['frames'][0]) + o in seq['images']
    name = {o: f'jpg = frame{o:+d}' if o else 'jpg = frame' for o in OFFSETS}
    report.set(
        'frame_mapping_matches', {name[o]: m for o, m in matches.items()}
    )
    report.set(
        'frame_mapping_first_frame_found',
        {name[o]: n for o, n in first_ok.items()},
    )
    if requested != 'auto':
        offset = int(requested)
    else:
        best = max(OFFSETS, key=lambda o: (matches[o], o == 0))
        others = [
            o for o in OFFSETS if o != best and matches[o] == matches[best]
        ]
        if matches[best] == 0:
            raise ValueError(
                'no labelled frame has an image under either mapping '
                '(jpg = frame, jpg = frame - 1); check the tree or give '
                '--frame-offset'
            )
        if others:
            raise ValueError(
                f'frame mapping is ambiguous ({matches[best]} matches for '
                f'offsets {[best] + others}); give --frame-offset'
            )
        offset = best
    report.set('frame_offset', offset)
    other = OFFSETS[1] if offset == 0 else 0
    report.logger.info(
        f'frame mapping: {name[offset]} ({matches[offset]} labelled frames '
        f'matched, the other mapping {matches[other]}; first CSV frame found '
        f'in {first_ok[offset]}/{with_both} sequences)'
    )
    return offset


def collect_entries(
    root: str,
    seqs: Dict[tuple, dict],
    au_ids: List[int],
    offset: int,
    report: Report,
) -> List[dict]:
    """One entry per frame with a label and an image; report the rest."""
    entries, no_image, no_label, no_label_file = [], [], [], []
    for (subject, task), seq in seqs.items():
        images = seq.get('images', {})
        csv_path = seq.get('csv')
        if csv_path is None:
            no_label_file.extend(
                dict(
                    file=osp.join(seq['img_dir'], images[n]), frame=n - offset
                )
                for n in sorted(images)
            )
            continue
        labelled = set()
        for frame, labels in zip(seq['frames'], seq['labels']):
            frame = int(frame)
            number = frame + offset
            labelled.add(number)
            if number not in images:
                no_image.append(dict(file=csv_path, frame=frame))
                continue
            source = osp.join(seq['img_dir'], images[number])
            entries.append(
                dict(
                    subject=subject,
                    sequence=task,
                    frame=frame,
                    source=osp.relpath(source, root),
                    source_frame=0,
                    au_labels=[int(v) for v in labels],
                    out_name=f'{subject}/{task}/{frame:05d}',
                )
            )
        no_label.extend(
            dict(file=osp.join(seq['img_dir'], images[n]), frame=n - offset)
            for n in sorted(set(images) - labelled)
        )
    report.problem(
        'no_label_file',
        'images in a sequence without label file',
        no_label_file,
    )
    report.problem(
        'labelled_without_image', 'labelled frames without an image', no_image
    )
    report.problem(
        'image_without_label', 'images whose frame has no label row', no_label
    )
    return entries


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        'root', help='BP4D root (holds <subject>/<task>/ and AUCoding/)'
    )
    parser.add_argument(
        '--frame-offset',
        default='auto',
        choices=['auto', '0', '-1'],
        help='jpg number = CSV frame + offset (default: detect)',
    )
    add_common_args(parser, 'the 12 protocol AUs')
    args = parser.parse_args(argv)
    au_ids = (
        parse_au_ids(args.au_ids, '--au-ids')
        if args.au_ids
        else list(BP4D_AU_IDS)
    )
    subjects = args.subjects.split(',') if args.subjects else None
    report = Report('BP4D')
    root = osp.abspath(args.root)
    seqs = scan_sequences(root, subjects)
    for seq in seqs.values():
        if 'csv' in seq:
            seq['frames'], seq['labels'] = read_bp4d_occ_csv(
                seq['csv'], au_ids
            )
        if 'img_dir' in seq:
            seq['images'], others = list_frame_images(seq['img_dir'])
            if others:
                report.problem(
                    'unrecognised_files',
                    'files that are not <number>.jpg',
                    [dict(file=osp.join(seq['img_dir'], n)) for n in others],
                )
    offset = detect_offset(seqs, args.frame_offset, report)
    entries = collect_entries(root, seqs, au_ids, offset, report)
    found = sorted({s for s, _ in seqs})
    report.set('subjects', found)
    report.set(
        'subjects_not_in_protocol',
        sorted(set(found) - {s for p in BP4D_PARTS for s in p}),
    )
    report.set('sequences', len(seqs))
    report.set(
        'label_rows', int(sum(len(s.get('frames', ())) for s in seqs.values()))
    )
    report.set(
        'images', int(sum(len(s.get('images', {})) for s in seqs.values()))
    )
    report.set('labelled_frames_with_image', len(entries))
    report.set('au_ids', au_ids)
    metainfo = dict(
        dataset='BP4D',
        au_ids=au_ids,
        au_names=au_full_names(au_ids),
        label_values={'0': 'absent', '1': 'present', '9': 'unknown'},
        frame_offset=offset,
        source_root=root,
        geometry=not args.no_geometry,
    )
    return finish(args, root, entries, metainfo, report, default_name='bp4d')
