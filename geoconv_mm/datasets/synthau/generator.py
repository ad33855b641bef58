"""Generate SynthAU on disk: images, ground-truth meshes, an AUDataset
annotation.

Layout of a build (``<root>/<spec.key>/``)::

    base_face.npz                 the reconstructed base face (kept on resume)
    images/S001/00000.png         rendered crop (size x size, BGR PNG)
    images/S001/00000.npz         its FaceSurface record (crop pixel frame)
    images/S001/00000_neutral.npz the same identity and pose without the AUs
                                  (``geometry='gt'`` only)
    images/S001/00000_recon.npz   MediaPipe's mesh of the image
                                  (``reconstruct=True`` only)
    images/S001/00000_recon_neutral.npz  MediaPipe's mesh of the same frame
                                  rendered without the AUs
                                  (``reconstruct=True`` only)
    subjects/S001.json            the subject's annotation entries (marks it
                                  done)
    annotations/synthau.json      OpenMMLab 2.0 annotation (written last)

Every subject draws from its own random stream
(``SeedSequence([seed, index])``), so a build is deterministic for a seed and
an interrupted build resumes where it stopped with the same result. Variants
(:mod:`.variants`) change only what they name: the identities, poses, lights
and labels of a seed are the same in every variant.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import glob
import json
import os
import os.path as osp
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Dict, Iterator, List, Optional

import cv2
import numpy as np

from geoconv_mm.face.alignment import template_fractions
from geoconv_mm.utils.atomic_io import atomic_imwrite, atomic_write_json

from .action_units import (
    SYNTHAU_AU_IDS,
    active_aus,
    au_displacement,
    sample_expression,
    subject_prototype_weights,
)
from .appearance import furrow_maps, varied_texture
from .face_model import (
    BaseFace,
    face_regions,
    reconstruct_base_face,
    sample_identity,
)
from .renderer import Lighting, render_face

#: Bump when the generator's output changes, so old caches are not reused.
GENERATOR_VERSION = 4
ANNOTATION = 'annotations/synthau.json'
_MIN_PARALLEL_FRAMES = 400
GEOMETRIES = ('gt', 'reconstructed')
LIGHTINGS = ('directional', 'ambient')
TEXTURES = ('photo', 'varied')
#: The meshes a build can keep per frame, by the suffix that replaces the
#: ``.npz`` of the frame's record (``gt``: the mesh that was rendered).
MESH_SUFFIXES = {
    'gt': '.npz',
    'neutral': '_neutral.npz',
    'recon': '_recon.npz',
    'recon_neutral': '_recon_neutral.npz',
}


def mesh_path(geo_path: str, mesh: str) -> str:
    """Where a build keeps one of the meshes of the frame whose record is
    ``geo_path``.

    Args:
        geo_path (str): The frame's record (its ``geo_path``).
        mesh (str): A key of :data:`MESH_SUFFIXES`: ``'gt'`` the rendered
            mesh, ``'neutral'`` the same identity and pose without the AUs
            (``geometry='gt'`` builds), ``'recon'`` MediaPipe's mesh of the
            image and ``'recon_neutral'`` MediaPipe's mesh of the frame
            rendered without the AUs (``reconstruct=True`` builds).

    Returns:
        str: The path.
    """
    if mesh not in MESH_SUFFIXES:
        raise ValueError(
            f'mesh must be one of {sorted(MESH_SUFFIXES)}, got {mesh!r}'
        )
    if not geo_path.endswith('.npz'):
        raise ValueError(f'not a SynthAU mesh record path: {geo_path!r}')
    return geo_path[: -len('.npz')] + MESH_SUFFIXES[mesh]


# Where FacePipeline's template puts the eyes and the mouth, as crop fractions:
# the same template, so SynthAU crops match inference crops.
_TEMPLATE = template_fractions()


@dataclass(frozen=True)
class SynthAUSpec:
    """What to generate.

    Args:
        seed (int): Master seed.
        num_subjects (int): Synthetic identities, split evenly into
            ``num_parts``.
        images_per_subject (int): Frames per identity.
        image_size (int): Crop size in pixels.
        num_parts (int): Subject-exclusive parts of the fold protocol
            (3 like BP4D).
        geometry (str): 'gt' (the mesh that was rendered) or 'reconstructed'
            (the MediaPipe reconstructor run on the rendered image, through
            :class:`geoconv_mm.face.FacePipeline`; frames without a detected
            face are left out and listed in ``summary.json``).
        max_yaw (float): Head yaw range in degrees (+-).
        max_pitch (float): Head pitch range in degrees (+-).
        max_roll (float): Head roll range in degrees (+-).
        inplane_scale (float): Multiplier of the AUs' in-image-plane motion.
        depth_scale (float): Multiplier of the AUs' depth motion
            (dose response).
        appearance (float): Strength of the AUs' furrows and wrinkles in the
            texture (0: none; 1: up to 50% darker lines at full intensity;
            2, the default: black lines at full intensity, which the demo
            model resolves at 112 px).
        lighting (str): 'directional' (Lambert shading from the true normals)
            or 'ambient' (no shading cue).
        texture (str): 'photo' (every identity wears the base photograph,
            tinted) or 'varied' (each identity borrows its fine skin detail
            from a different scikit-image picture, see :func:`varied_texture`).
        render_neutral (bool): Render the image from the AU-free mesh (the mesh
            record keeps the AUs): the image carries no AU at all.
        reconstruct (bool): Also keep, beside the ground truth, the mesh
            that MediaPipe's Face Mesh reconstructs from each rendered image
            and from the same frame rendered without the AUs (same light,
            background and noise), as a user's data would be prepared
            (:func:`mesh_path`). The images are those of the build without
            it; frames where MediaPipe finds no face in either image are
            left out and listed in ``summary.json``.
    """

    seed: int = 0
    num_subjects: int = 36
    images_per_subject: int = 40
    image_size: int = 112
    num_parts: int = 3
    geometry: str = 'gt'
    max_yaw: float = 20.0
    max_pitch: float = 12.0
    max_roll: float = 8.0
    inplane_scale: float = 1.5
    depth_scale: float = 1.0
    appearance: float = 2.0
    lighting: str = 'directional'
    texture: str = 'photo'
    render_neutral: bool = False
    reconstruct: bool = False

    def __post_init__(self) -> None:
        for name, allowed in (
            ('geometry', GEOMETRIES),
            ('lighting', LIGHTINGS),
            ('texture', TEXTURES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f'{name} must be one of {allowed}, got '
                    f'{getattr(self, name)!r}'
                )
        for name in ('inplane_scale', 'depth_scale', 'appearance'):
            if not getattr(self, name) >= 0:
                raise ValueError(
                    f'{name} must be >= 0, got {getattr(self, name)!r}'
                )
        if self.num_parts < 2 or self.num_subjects < self.num_parts:
            raise ValueError(
                f'need num_parts >= 2 and num_subjects >= num_parts, got '
                f'num_subjects={self.num_subjects}, num_parts={self.num_parts}'
            )
        if self.images_per_subject < 1 or self.image_size < 32:
            raise ValueError(
                f'need images_per_subject >= 1 and image_size >= 32, got '
                f'{self.images_per_subject}, {self.image_size}'
            )

    @property
    def key(self) -> str:
        """Folder name of this build (every parameter that changes the
        data).
        """
        return (
            f'synthau-v{GENERATOR_VERSION}_seed{self.seed}_{self.num_subjects}x'
            f'{self.images_per_subject}_{self.image_size}px_{self.geometry}_p'
            f'{self.num_parts}_pose{self.max_yaw:g}-{self.max_pitch:g}-{self.max_roll:g}'
            f'_xy{self.inplane_scale:g}_z{self.depth_scale:g}_ap{self.appearance:g}'
            f'_{self.lighting}_{self.texture}'
            + ('_neutralimg' if self.render_neutral else '')
            + ('_recon' if self.reconstruct else '')
        )

    def subjects(self) -> List[str]:
        return [f'S{i + 1:03d}' for i in range(self.num_subjects)]

    def parts(self) -> List[List[str]]:
        """Subjects dealt round-robin into parts after a seeded shuffle."""
        order = np.random.default_rng([self.seed, 7919]).permutation(
            self.num_subjects
        )
        subjects = self.subjects()
        return [
            sorted(subjects[i] for i in order[p :: self.num_parts])
            for p in range(self.num_parts)
        ]


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """R = Rz(roll) Ry(yaw) Rx(pitch), degrees; frame x right, y down, z to
    camera.
    """
    y, p, r = np.deg2rad([yaw, pitch, roll])
    rx = np.array(
        [[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]]
    )
    ry = np.array(
        [[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]]
    )
    rz = np.array(
        [[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]]
    )
    return rz @ ry @ rx


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    c0, c1 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    t = np.linspace(0, 1, size)[:, None, None]
    angle = rng.uniform(0, 2 * np.pi)
    grid = np.cos(angle) * t + np.sin(angle) * t.transpose(1, 0, 2)
    grid = (grid - grid.min()) / max(np.ptp(grid), 1e-9)
    noise = rng.normal(0, 6, (size // 8, size // 8, 1))
    noise = cv2.resize(noise.astype(np.float32), (size, size))[..., None]
    return (c0 * (1 - grid) + c1 * grid + noise).astype(np.float32)


def _albedo_gain(rng: np.random.Generator, texture_size: int) -> np.ndarray:
    """Per-identity skin tone and smooth blotches, as a texture multiplier."""
    tone = rng.uniform(0.7, 1.25) * rng.uniform(0.9, 1.1, 3)
    # Mostly luminance blotches (freckles, flush), a little colour.
    blotch = (
        rng.normal(0, 0.06, (6, 6, 1)) + rng.normal(0, 0.02, (6, 6, 3))
    ).astype(np.float32)
    blotch = cv2.resize(
        blotch, (texture_size, texture_size), interpolation=cv2.INTER_CUBIC
    )
    return (tone[None, None] * (1.0 + blotch)).astype(np.float32)


class SubjectRenderer:
    """Draws one synthetic identity and renders its frames."""

    def __init__(self, base: BaseFace, spec: SynthAUSpec, index: int):
        self.spec = spec
        self.base = base
        self.rng = np.random.default_rng(
            np.random.SeedSequence([spec.seed, index])
        )
        base_regions = face_regions(base.vertices, base.faces)
        self.shape = sample_identity(
            base.vertices, self.rng, base_regions.midline_x
        )
        self.regions = face_regions(self.shape, base.faces)
        self.expressiveness = float(self.rng.uniform(0.8, 1.2))
        self.proto_weights = subject_prototype_weights(self.rng)
        self.gain = _albedo_gain(self.rng, base.texture.shape[0])
        self.mirror_texture = bool(self.rng.random() < 0.5)
        # Options draw from their own stream, so every variant of a seed shares
        # the identities, poses and labels of the main one.
        extra = np.random.default_rng(
            np.random.SeedSequence([spec.seed, index, 1])
        )
        self.texture = (
            varied_texture(base.texture, extra)
            if spec.texture == 'varied'
            else base.texture
        )
        self.furrows = (
            furrow_maps(
                self.regions, self.shape, base.uv, base.texture.shape[0]
            )
            if spec.appearance > 0
            else {}
        )

    def frame(self) -> dict:
        """Render the next frame: image, mesh (pixel frame), labels and
        parameters.
        """
        rng, spec = self.rng, self.spec
        proto, intensity = sample_expression(rng, self.proto_weights)
        applied = {au: s * self.expressiveness for au, s in intensity.items()}
        shape = self.shape + au_displacement(
            self.shape,
            self.regions,
            applied,
            spec.inplane_scale,
            spec.depth_scale,
        )
        pose = (
            float(rng.uniform(-spec.max_yaw, spec.max_yaw)),
            float(rng.uniform(-spec.max_pitch, spec.max_pitch)),
            float(rng.uniform(-spec.max_roll, spec.max_roll)),
        )
        rot = _rotation(*pose)
        centre = self.shape.mean(0)
        # Alignment like FacePipeline: a similarity sending the *neutral* posed
        # eyes and mouth to the template, with a little jitter; expressions do
        # not move the crop.
        a = self.regions.anchors
        keys = np.stack([a['eye_l'], a['eye_r'], a['mouth']])
        size = spec.image_size
        posed_keys = (keys - centre) @ rot.T
        dst = _TEMPLATE * size - 0.5 + rng.normal(0, 0.012 * size, (3, 2))
        scale, offset = _fit_scale_shift(posed_keys[:, :2], dst)
        verts = (shape - centre) @ rot.T * scale
        verts[:, :2] += offset
        neutral = (self.shape - centre) @ rot.T * scale
        neutral[:, :2] += offset
        background = _background(rng, size)
        light = Lighting.sample(rng, ambient_only=spec.lighting == 'ambient')
        uv = self.base.uv
        texture = self.texture
        gain = plain_gain = self.gain
        if self.furrows and not spec.render_neutral:
            dark = sum(
                applied[au] * m
                for au, m in self.furrows.items()
                if applied[au] > 0
            )
            if not np.isscalar(dark):
                gain = (
                    gain
                    * (1.0 - 0.5 * spec.appearance * np.clip(dark, 0, 1))[
                        ..., None
                    ]
                )
        if (
            self.mirror_texture
        ):  # a mirrored photo keeps the mesh/texture registration
            texture, gain = texture[:, ::-1], gain[:, ::-1]
            plain_gain = plain_gain[:, ::-1]
            uv = uv.copy()
            uv[:, 0] = texture.shape[1] - 1 - uv[:, 0]

        def render(mesh, albedo_gain):
            return render_face(
                mesh,
                self.base.faces,
                uv,
                np.ascontiguousarray(texture),
                np.ascontiguousarray(albedo_gain),
                light,
                size,
                background,
                self.regions.mouth_loop,
                self.regions.eye_loops,
            )[0]

        image = render(neutral if spec.render_neutral else verts, gain)
        noise = rng.normal(0, rng.uniform(1.0, 4.0), image.shape)
        image = np.clip(image + noise, 0, 255).astype(np.uint8)
        extra = {}
        if spec.reconstruct:
            # No further draws from the frame stream: the frames of a build
            # with reconstructions are those of the build without.
            shown = render(neutral, plain_gain)
            extra['neutral_image'] = np.clip(shown + noise, 0, 255).astype(
                np.uint8
            )
        return dict(
            extra,
            image=image,
            vertices=verts.astype(np.float32),
            neutral_vertices=neutral.astype(np.float32),
            prototype=proto,
            intensity=intensity,
            pose=pose,
        )


def _fit_scale_shift(src: np.ndarray, dst: np.ndarray):
    """Least-squares uniform scale and shift (no rotation: roll is part of the
    pose).
    """
    ms, md = src.mean(0), dst.mean(0)
    scale = float(((src - ms) * (dst - md)).sum() / ((src - ms) ** 2).sum())
    return scale, md - scale * ms


@contextmanager
def _build_lock(path: str) -> Iterator[None]:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as fh:
        fcntl.flock(
            fh, fcntl.LOCK_EX
        )  # concurrent ranks/processes wait for one builder
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def generate_synthau(
    root: str,
    spec: Optional[SynthAUSpec] = None,
    progress: bool = True,
    num_workers: Optional[int] = None,
) -> str:
    """Build (or finish building, or just find) a SynthAU dataset.

    Args:
        root (str): Cache folder; the build goes to ``<root>/<spec.key>``.
        spec (SynthAUSpec, optional): What to generate (defaults to
            ``SynthAUSpec()``).
        progress (bool): Show a tqdm bar.
        num_workers (int, optional): Processes that render subjects in
            parallel (``geometry='gt'`` only; the reconstructor runs in this
            process). Defaults to the cores this process may use, or 1 for
            a build of a few hundred frames. The build is the same byte for
            byte whatever the count.

    Returns:
        str: The build folder (holding ``annotations/synthau.json``).
    """
    spec = spec or SynthAUSpec()
    out = osp.join(osp.abspath(root), spec.key)
    ann = osp.join(out, ANNOTATION)
    if osp.isfile(ann):
        return out
    with _build_lock(out + '.lock'):
        if osp.isfile(ann):  # another process finished it while we waited
            return out
        _build(out, spec, progress, num_workers)
    return out


def _build(
    out: str, spec: SynthAUSpec, progress: bool, num_workers: Optional[int]
) -> None:
    from tqdm import tqdm

    base_path = osp.join(out, 'base_face.npz')
    if not osp.isfile(base_path):
        reconstruct_base_face().save(base_path)
    todo = [
        index
        for index, subject in enumerate(spec.subjects())
        if not osp.isfile(_manifest_path(out, subject))
    ]
    total = spec.num_subjects * spec.images_per_subject
    bar = tqdm(
        total=total,
        initial=total - len(todo) * spec.images_per_subject,
        disable=not progress,
        desc=f'SynthAU {spec.key}',
        unit='img',
    )
    if num_workers is None:
        frames = len(todo) * spec.images_per_subject
        # A spawned worker spends seconds importing the package: small builds
        # are quicker in this process.
        parallel = frames >= _MIN_PARALLEL_FRAMES
        num_workers = len(os.sched_getaffinity(0)) if parallel else 1
    num_workers = min(num_workers, len(todo))
    if not todo:  # only the annotation is missing
        pass
    elif _reconstructs(spec) or num_workers <= 1:
        base = BaseFace.load(base_path)
        pipeline = _reconstructor(spec)
        for index in todo:
            _build_subject(out, spec, base, index, pipeline, bar.update)
    else:
        _build_in_parallel(out, spec, base_path, todo, num_workers, bar)
    bar.close()
    entries: List[dict] = []
    summary: List[dict] = []
    for subject in spec.subjects():
        with open(_manifest_path(out, subject)) as fh:
            done = json.load(fh)
        entries += done['entries']
        summary += done['summary']
    atomic_write_json(osp.join(out, 'summary.json'), summary)
    metainfo = dict(
        dataset='SynthAU',
        au_ids=list(SYNTHAU_AU_IDS),
        parts=spec.parts(),
        spec=asdict(spec),
        generator_version=GENERATOR_VERSION,
    )
    atomic_write_json(
        osp.join(out, ANNOTATION), dict(metainfo=metainfo, data_list=entries)
    )


def _manifest_path(out: str, subject: str) -> str:
    return osp.join(out, 'subjects', f'{subject}.json')


def _reconstructs(spec: SynthAUSpec) -> bool:
    """Whether the build runs MediaPipe (in this process: its graph is not
    shared with spawned workers)."""
    return spec.geometry == 'reconstructed' or spec.reconstruct


def _reconstructor(spec: SynthAUSpec):
    if not _reconstructs(spec):
        return None
    from geoconv_mm.face import FacePipeline

    return FacePipeline(
        dict(type='MediaPipeFaceMesh'), crop_size=spec.image_size
    )


def _build_subject(
    out: str,
    spec: SynthAUSpec,
    base: BaseFace,
    index: int,
    pipeline=None,
    on_frame=lambda n: None,
) -> None:
    """Render one subject's frames, then write its manifest (which marks the
    subject done)."""
    subject = spec.subjects()[index]
    _remove_partial_files(osp.join(out, 'images', subject))
    renderer = SubjectRenderer(base, spec, index)
    entries, summary = [], []
    for frame in range(spec.images_per_subject):
        entry, status = _write_frame(
            out, spec, renderer, subject, frame, pipeline
        )
        summary.append(status)
        if entry is not None:
            entries.append(entry)
        on_frame(1)
    atomic_write_json(
        _manifest_path(out, subject), dict(entries=entries, summary=summary)
    )


def _remove_partial_files(folder: str) -> None:
    """A build killed mid-write leaves the temporary files of its atomic
    writes (``tmp*.tmp.png``, ``tmp*.tmp.npz``); the subject is rebuilt from
    scratch, so they go."""
    for path in glob.glob(osp.join(folder, 'tmp*.tmp.*')):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


_WORKER_BASE: Optional[BaseFace] = None


def _init_worker(base_path: str) -> None:
    global _WORKER_BASE
    # One thread per worker: the workers already fill the cores.
    cv2.setNumThreads(1)
    _WORKER_BASE = BaseFace.load(base_path)


def _build_subject_in_worker(out: str, spec: SynthAUSpec, index: int) -> int:
    _build_subject(out, spec, _WORKER_BASE, index)
    return index


def _build_in_parallel(
    out: str,
    spec: SynthAUSpec,
    base_path: str,
    todo: List[int],
    num_workers: int,
    bar,
) -> None:
    """Subjects are independent random streams, so any order of building
    them gives the same files. The workers are spawned (``WorkerPool``); a
    worker that cannot start ends the build with one line."""
    from geoconv_mm.utils import WorkerPool

    task = functools.partial(_build_subject_in_worker, out, spec)
    with WorkerPool(
        num_workers, _init_worker, (base_path,), name='SynthAU render'
    ) as pool:
        for _ in pool.imap_unordered(task, todo):
            bar.update(spec.images_per_subject)


def _write_frame(
    out: str,
    spec: SynthAUSpec,
    renderer: SubjectRenderer,
    subject: str,
    frame: int,
    pipeline,
) -> tuple:
    from geoconv_mm.face import NoFaceError
    from geoconv_mm.geodesic import FaceSurface

    f = renderer.frame()
    rel = f'images/{subject}/{frame:05d}'
    name = f'{subject} frame {frame}'
    status = dict(subject=subject, frame=frame, status='ok')
    image = f['image']
    surface = FaceSurface(f['vertices'], renderer.base.faces, image.shape[:2])
    meshes = {}
    try:
        if spec.geometry == 'reconstructed':
            result = pipeline.process(image, name=name)
            image, surface = result.crop, result.surface
        if spec.reconstruct:
            meshes['recon'] = _source_mesh(pipeline, image, name)
            meshes['recon_neutral'] = _source_mesh(
                pipeline, f['neutral_image'], f'{name} (without the AUs)'
            )
    except (NoFaceError, ValueError) as exc:  # or a degenerate mesh
        status.update(status='no_face', reason=str(exc))
        return None, status
    if spec.geometry == 'gt':
        meshes['neutral'] = FaceSurface(
            f['neutral_vertices'], renderer.base.faces, image.shape[:2]
        )
    surface.validate(name)
    atomic_imwrite(osp.join(out, rel + '.png'), image)
    record = osp.join(out, rel + '.npz')
    surface.save(record)
    for mesh, mesh_surface in meshes.items():
        mesh_surface.save(mesh_path(record, mesh))
    labels = active_aus(f['intensity'])
    entry = dict(
        img_path=rel + '.png',
        geo_path=rel + '.npz',
        subject=subject,
        sequence=f['prototype'],
        frame=frame,
        au_labels=[int(au in labels) for au in SYNTHAU_AU_IDS],
        # 0-5 like DISFA's intensities: 0 below the occurrence threshold.
        au_intensities=[
            int(np.ceil(5 * f['intensity'][au])) if au in labels else 0
            for au in SYNTHAU_AU_IDS
        ],
        au_strength=[round(f['intensity'][au], 4) for au in SYNTHAU_AU_IDS],
        pose=[round(p, 3) for p in f['pose']],
    )
    return entry, status


def _source_mesh(pipeline, image: np.ndarray, name: str):
    """MediaPipe's mesh of ``image`` in that image's own pixel frame.

    Raises:
        NoFaceError: No face (names the frame).
        DegenerateMeshError: An unusable mesh.
    """
    from geoconv_mm.geodesic import FaceSurface

    result = pipeline.process(image, name=name)
    return FaceSurface(
        result.mesh_vertices, result.surface.faces, image.shape[:2]
    ).validate(name)


def label_statistics(data_list: List[dict]) -> Dict[int, float]:
    """Positive rate per AU over annotation entries."""
    labels = np.array([d['au_labels'] for d in data_list], np.float64)
    return {au: float(r) for au, r in zip(SYNTHAU_AU_IDS, labels.mean(0))}
