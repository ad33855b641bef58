"""Prepare BP4D-Spontaneous: scan images, AU_OCC labels and, when the copy
has them, AU_INT intensity codes, run the face pipeline, write the annotation
(see :mod:`.common` for the output layout and the skip policy).

Input: ``<root>/<subject>/<task>/<frame>.jpg`` (unpadded or zero-padded
numbers), ``<root>/AUCoding/AU_OCC/<subject>_<task>.csv`` and, optionally,
``<root>/AUCoding/AU_INT/AU06/<subject>_<task>_AU06.csv`` (the FERA 2015
layout: one folder per AU, lines ``frame,intensity``, 9 = not coded). A
sequence folder without a label file, labelled frames without images and
images without labels are logged and listed in the report. Bad label content
is an error (see ``label_readers``).

Intensities: without ``AU_INT`` the annotation is occurrence-only, as it
always was. With it, every entry gets ``au_intensities`` beside
``au_labels`` (one per stored AU; 9 for AUs without intensity codes and
for frames an AU's file does not code), and the metainfo lists the coded
AUs in ``intensity_au_ids``. A frame coded for intensity but absent from
the occurrence file is kept with unknown (9) occurrence labels; missing
intensity files and rows are reported.
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from ..au_info import (
    BP4D_AU_IDS,
    INTENSITY_VALUES,
    UNKNOWN_LABEL,
    au_full_names,
    parse_au_ids,
)
from ..label_readers import (
    list_frame_images,
    read_bp4d_int_csv,
    read_bp4d_occ_csv,
)
from ..protocol import BP4D_PARTS
from .common import Report, add_common_args, finish

SUBJECT_RE = re.compile(r'^[FM]\d{3}$')
TASK_RE = re.compile(r'^T\d+$')
LABEL_SUBDIR = osp.join('AUCoding', 'AU_OCC')
INTENSITY_SUBDIR = osp.join('AUCoding', 'AU_INT')
INTENSITY_DIR_RE = re.compile(r'^AU(\d+)$')
INTENSITY_FILE_RE = re.compile(r'^([FM]\d{3})_(T\d+)_AU(\d+)\.csv$', re.I)
#: jpg number = CSV frame + offset; 0 in the common copies, -1 in one loader.
OFFSETS = (0, -1)


def scan_sequences(
    root: str, subjects: Optional[Sequence[str]]
) -> Tuple[Dict[tuple, dict], Optional[List[int]]]:
    """Find ``(subject, task)`` sequences from image folders and label files.

    Returns:
        tuple: ``{(subject, task): seq}`` where ``seq`` has ``img_dir``,
        ``csv`` (occurrence) and ``intensity_csv`` ({AU: file}) where they
        exist, and the AUs of the ``AU_INT`` folders (None without
        ``AU_INT``).
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
    intensity_aus = scan_intensity_files(root, seqs)
    if subjects is not None:
        unknown = sorted(set(subjects) - {s for s, _ in seqs})
        if unknown:
            raise ValueError(f'--subjects {unknown} not found under {root}')
        seqs = {k: v for k, v in seqs.items() if k[0] in set(subjects)}
    if not seqs:
        raise FileNotFoundError(
            f'no BP4D sequences (<subject>/<task>/ or label CSVs) under {root}'
        )
    return dict(sorted(seqs.items())), intensity_aus


def scan_intensity_files(
    root: str, seqs: Dict[tuple, dict]
) -> Optional[List[int]]:
    """Add each sequence's ``AU_INT/AU<k>/<subject>_<task>_AU<k>.csv`` files
    to ``seqs`` as ``intensity_csv`` ({AU: path}).

    Returns:
        list[int] | None: The AUs that have a folder (``AU06`` or ``AU6``),
        sorted; None when the copy has no ``AU_INT`` folder.

    Raises:
        ValueError: a file's AU differs from its folder's, or two folders
            name the same AU.
    """
    int_dir = osp.join(root, INTENSITY_SUBDIR)
    if not osp.isdir(int_dir):
        return None
    folders: Dict[int, str] = {}
    for name in sorted(os.listdir(int_dir)):
        m = INTENSITY_DIR_RE.match(name)
        if not m or not osp.isdir(osp.join(int_dir, name)):
            continue
        au = int(m.group(1))
        if au in folders:
            raise ValueError(
                f'{int_dir}: folders {folders[au]} and {name} both hold AU{au}'
            )
        folders[au] = name
    for au, name in sorted(folders.items()):
        folder = osp.join(int_dir, name)
        for file in sorted(os.listdir(folder)):
            m = INTENSITY_FILE_RE.match(file)
            if not m:
                continue
            if int(m.group(3)) != au:
                raise ValueError(
                    f'{osp.join(folder, file)}: an AU{int(m.group(3))} file '
                    f'in the AU{au} folder'
                )
            seqs.setdefault((m.group(1), m.group(2)), {}).setdefault(
                'intensity_csv', {}
            )[au] = osp.join(folder, file)
    return sorted(folders)


def intensity_file_path(root: str, subject: str, task: str, au: int) -> str:
    """Where a sequence's intensity file of ``au`` is in the FERA 2015
    layout."""
    return osp.join(
        root,
        INTENSITY_SUBDIR,
        f'AU{au:02d}',
        f'{subject}_{task}_AU{au:02d}.csv',
    )


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


def read_labels(
    seqs: Dict[tuple, dict], au_ids: List[int], intensity_aus: List[int]
) -> None:
    """Read each sequence's label files into it: ``frames`` and ``labels``
    from the occurrence CSV, ``intensity`` ({AU: {frame: code}}) from the
    intensity files of ``intensity_aus``."""
    for seq in tqdm(
        seqs.values(), desc='BP4D: reading labels', unit='sequence'
    ):
        if 'csv' in seq:
            seq['frames'], seq['labels'] = read_bp4d_occ_csv(
                seq['csv'], au_ids
            )
        seq['intensity'] = {}
        for au in intensity_aus:
            path = seq.get('intensity_csv', {}).get(au)
            if path is not None:
                frames, codes = read_bp4d_int_csv(path)
                seq['intensity'][au] = dict(
                    zip(frames.tolist(), codes.tolist())
                )


def collect_entries(
    root: str,
    seqs: Dict[tuple, dict],
    au_ids: List[int],
    offset: int,
    report: Report,
    intensity_aus: Optional[List[int]] = None,
) -> List[dict]:
    """One entry per frame with a label and an image; report the rest.

    A frame is labelled when the occurrence CSV or an intensity file of
    ``intensity_aus`` lists it; with ``intensity_aus`` every entry gets
    ``au_intensities`` (one per AU of ``au_ids``), 9 where not coded.
    """
    entries, no_image, no_label, no_label_file = [], [], [], []
    no_occ_row, no_int_row, no_int_file = [], [], []
    unknown = [UNKNOWN_LABEL] * len(au_ids)
    for (subject, task), seq in seqs.items():
        images = seq.get('images', {})
        csv_path = seq.get('csv')
        intensity = seq.get('intensity', {})
        int_paths = seq.get('intensity_csv', {})
        if csv_path is None and not intensity:
            no_label_file.extend(
                dict(
                    file=osp.join(seq['img_dir'], images[n]), frame=n - offset
                )
                for n in sorted(images)
            )
            continue
        occurrence = {
            int(f): [int(v) for v in labels]
            for f, labels in zip(seq.get('frames', ()), seq.get('labels', ()))
        }
        if intensity_aus and csv_path is not None:
            no_int_file.extend(
                dict(file=intensity_file_path(root, subject, task, au))
                for au in intensity_aus
                if au not in intensity
            )
        # occurrence rows in file order, then frames only intensity codes
        coded = {f for codes in intensity.values() for f in codes}
        frames = list(occurrence) + sorted(coded - set(occurrence))
        labelled = set()
        for frame in frames:
            source_file = (
                csv_path
                if frame in occurrence
                else next(
                    int_paths[au] for au in intensity if frame in intensity[au]
                )
            )
            number = frame + offset
            labelled.add(number)
            if number not in images:
                no_image.append(dict(file=source_file, frame=frame))
                continue
            if frame not in occurrence:
                no_occ_row.append(dict(file=source_file, frame=frame))
            entry = dict(
                subject=subject,
                sequence=task,
                frame=frame,
                source=osp.relpath(
                    osp.join(seq['img_dir'], images[number]), root
                ),
                source_frame=0,
                au_labels=occurrence.get(frame, unknown),
                out_name=f'{subject}/{task}/{frame:05d}',
            )
            if intensity_aus:
                entry['au_intensities'] = [
                    intensity.get(au, {}).get(frame, UNKNOWN_LABEL)
                    for au in au_ids
                ]
                no_int_row.extend(
                    dict(file=int_paths[au], frame=frame)
                    for au in intensity
                    if frame not in intensity[au]
                )
            entries.append(entry)
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
    report.problem(
        'intensity_file_missing',
        'intensity files missing for sequences with occurrence labels (their '
        'frames get intensity 9, not coded)',
        no_int_file,
    )
    report.problem(
        'intensity_row_missing',
        'frames that an AU\'s intensity file does not list (intensity 9, not '
        'coded)',
        no_int_row,
    )
    report.problem(
        'occurrence_row_missing',
        'frames with intensity codes but no occurrence row (occurrence 9, '
        'unknown)',
        no_occ_row,
    )
    return entries


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        'root',
        help='BP4D root (holds <subject>/<task>/ and AUCoding/AU_OCC, '
        'optionally AUCoding/AU_INT)',
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
    seqs, int_folders = scan_sequences(root, subjects)
    intensity_aus = (
        None
        if int_folders is None
        else [a for a in au_ids if a in int_folders]
    )
    if int_folders is None:
        report.logger.info(
            f'no {INTENSITY_SUBDIR} folder: occurrence labels only'
        )
    else:
        not_stored = [a for a in int_folders if a not in au_ids]
        report.logger.info(
            f'intensity codes of AU {intensity_aus} from {INTENSITY_SUBDIR}'
            + (
                f' (AU {not_stored} not among the stored AUs)'
                if not_stored
                else ''
            )
        )
    read_labels(seqs, au_ids, intensity_aus or [])
    for seq in seqs.values():
        if 'img_dir' in seq:
            seq['images'], others = list_frame_images(seq['img_dir'])
            if others:
                report.problem(
                    'unrecognised_files',
                    'files that are not <number>.jpg',
                    [dict(file=osp.join(seq['img_dir'], n)) for n in others],
                )
    offset = detect_offset(seqs, args.frame_offset, report)
    entries = collect_entries(
        root, seqs, au_ids, offset, report, intensity_aus
    )
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
        'intensity_rows',
        {
            f'AU{au}': sum(
                len(s['intensity'].get(au, ())) for s in seqs.values()
            )
            for au in intensity_aus or []
        },
    )
    report.set(
        'images', int(sum(len(s.get('images', {})) for s in seqs.values()))
    )
    report.set('labelled_frames_with_image', len(entries))
    report.set('au_ids', au_ids)
    report.set('intensity_au_ids', intensity_aus or [])
    metainfo = dict(
        dataset='BP4D',
        au_ids=au_ids,
        au_names=au_full_names(au_ids),
        label_values={'0': 'absent', '1': 'present', '9': 'unknown'},
        intensity_au_ids=intensity_aus or [],
        frame_offset=offset,
        source_root=root,
        geometry=not args.no_geometry,
    )
    if intensity_aus:
        metainfo['intensity_values'] = INTENSITY_VALUES
    return finish(args, root, entries, metainfo, report, default_name='bp4d')
