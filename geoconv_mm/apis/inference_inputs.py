"""The inputs of a many-input run: what each is, where its CSV goes, which
shard runs it.

A run takes paths: videos, images, image folders, folders of videos, list
files, webcam indices. Each video is one input with its own CSV; the images
of one folder (or of one list file, or one image named alone) are one image
sequence, as :class:`~geoconv_mm.utils.frame_io.FrameSource` reads them.
CSV names mirror the inputs' places below the folder or list they came
from, so a run's output folder has the shape of its input folder.
"""

from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from geoconv_mm.utils.frame_io import (
    FrameSource,
    is_image,
    is_list_file,
    is_video,
    is_webcam,
    natural_key,
    open_video,
    read_list_file,
)
from geoconv_mm.utils.shards import take_shard

KINDS = ('video', 'images', 'webcam', 'missing')


@dataclass(frozen=True)
class InferenceInput:
    """One input of a run.

    Args:
        kind (str): ``video``, ``images`` (an image sequence), ``webcam``,
            or ``missing`` (a list file's entry that does not exist: it
            fails when run, and the others go on).
        source (str): The video, the folder or list file of the images,
            the webcam index, or the missing path.
        name (str): Where its CSV goes below the output folder, without
            ``.csv`` (``/``-separated).
        items (tuple[str]): The image paths of an image sequence.
    """

    kind: str
    source: str
    name: str
    items: Tuple[str, ...] = field(default=(), repr=False)

    @property
    def sequence(self) -> bool:
        """Whether consecutive frames show one scene (faces are tracked)."""
        return self.kind in ('video', 'webcam')

    def csv_path(self, out_dir: str) -> str:
        return osp.join(out_dir, *self.name.split('/')) + '.csv'

    def open(
        self, fps: float = 30.0, max_frames: Optional[int] = None
    ) -> FrameSource:
        """The input's frames, checked up front: an input that cannot be
        opened at all raises naming it."""
        if self.kind == 'missing':
            raise FileNotFoundError(f'input not found: {self.source}')
        source = list(self.items) if self.kind == 'images' else self.source
        frames = FrameSource(
            source, fps=fps, max_frames=max_frames, keep_errors=True
        )
        if frames.kind == 'video':
            open_video(frames.items).release()
        return frames


def _stem(path: str) -> str:
    return osp.splitext(path)[0].replace(os.sep, '/')


def _folder_inputs(
    folder: str, recursive: bool, prefix: str
) -> List[InferenceInput]:
    """The videos of ``folder`` and one image sequence per folder holding
    images, named by their path below ``folder`` (after ``prefix``)."""
    found: List[InferenceInput] = []
    walk = (
        os.walk(folder)
        if recursive
        else [(folder, [], sorted(os.listdir(folder)))]
    )
    for root, dirs, names in walk:
        dirs.sort(key=natural_key)  # top-down, in natural order
        rel = osp.relpath(root, folder)
        rel = '' if rel == '.' else rel.replace(os.sep, '/')
        images = sorted(
            (osp.join(root, n) for n in names if is_image(n)),
            key=natural_key,
        )
        for n in sorted(names, key=natural_key):
            if is_video(n) and osp.isfile(osp.join(root, n)):
                found.append(
                    InferenceInput(
                        'video',
                        osp.join(root, n),
                        _join(prefix, rel, _stem(n)),
                    )
                )
        if images:
            name = _join(prefix, rel) or osp.basename(osp.abspath(folder))
            found.append(InferenceInput('images', root, name, tuple(images)))
    return found


def _join(*parts: str) -> str:
    return '/'.join(p for p in parts if p)


def _list_inputs(path: str, recursive: bool) -> List[InferenceInput]:
    """A list file's entries: each video and folder an input (a missing
    one fails when run), its images one sequence named after the list."""
    found: List[InferenceInput] = []
    images = []
    for full, entry in read_list_file(path):
        rel = osp.normpath(entry)
        if osp.isabs(rel) or rel.startswith(os.pardir):
            rel = osp.basename(rel)
        rel = _stem(rel)
        if osp.isdir(full):
            found += _folder_inputs(full, recursive, rel)
        elif is_image(full):
            images.append(full)
        elif not osp.exists(full):
            found.append(InferenceInput('missing', full, rel))
        elif is_video(full):
            found.append(InferenceInput('video', full, rel))
        else:
            raise ValueError(
                f'{path}: {entry} is not a video, an image or a folder'
            )
    if images:
        found.append(
            InferenceInput(
                'images', path, _stem(osp.basename(path)), tuple(images)
            )
        )
    return found


def find_inputs(
    paths: Sequence[str], recursive: bool = False
) -> List[InferenceInput]:
    """The inputs named by command-line paths, in order.

    Args:
        paths (Sequence[str]): Videos, images, folders (their videos, and
            their images as one sequence), list files (``.txt``: one path
            per line), webcam indices.
        recursive (bool): Also look in the folders' subfolders (each
            subfolder's images are one sequence).

    Raises:
        FileNotFoundError: A path does not exist.
        ValueError: A path is of no known kind, a folder holds nothing to
            read, or two inputs would write the same CSV.
    """
    found: List[InferenceInput] = []
    for path in paths:
        path = os.fspath(path)
        if is_webcam(path):
            found.append(InferenceInput('webcam', path, f'webcam{path}'))
        elif osp.isdir(path):
            inputs = _folder_inputs(path, recursive, '')
            if not inputs:
                hint = '' if recursive else ' (--recursive looks deeper)'
                raise ValueError(
                    f'{path}: no video or image in this folder{hint}'
                )
            found += inputs
        elif not osp.exists(path):
            raise FileNotFoundError(f'input not found: {path}')
        elif is_video(path):
            found.append(
                InferenceInput('video', path, _stem(osp.basename(path)))
            )
        elif is_image(path):
            found.append(
                InferenceInput(
                    'images', path, _stem(osp.basename(path)), (path,)
                )
            )
        elif is_list_file(path):
            found += _list_inputs(path, recursive)
        else:
            raise ValueError(
                f'{path}: not a video, an image, a folder, a list file '
                '(.txt) or a webcam index'
            )
    owners: Dict[str, str] = {}
    for inp in found:
        if inp.name in owners:
            raise ValueError(
                f'{owners[inp.name]} and {inp.source} would both write '
                f'{inp.name}.csv; name their common folder instead, or '
                'run them into separate --out-dir folders'
            )
        owners[inp.name] = inp.source
    return found


def shard_inputs(
    inputs: Sequence[InferenceInput], index: int, count: int
) -> List[InferenceInput]:
    """Shard ``index`` of ``count`` (1-based): every ``count``-th input in
    the natural order of their CSV names, so every shard gets its share of
    each folder and the split does not depend on the order of the paths."""
    # The name itself breaks ties of the natural key ('0' and '00').
    ordered = sorted(inputs, key=lambda i: (natural_key(i.name), i.name))
    return take_shard(ordered, index, count)
