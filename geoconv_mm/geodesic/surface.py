"""FaceSurface: a coarse 3D face mesh in the pixel frame of its aligned
crop.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from geoconv_mm.utils.atomic_io import atomic_path

#: Largest |coordinate| of a vertex, in pixels: float32 records resolve whole
#: pixels up to 2^24, and a mesh beyond it is no face of any crop. The
#: compiled kernel refuses the same (``_C.max_coordinate``).
MAX_COORDINATE = 2.0**24
#: Largest side of the image a surface lives in (``_C.max_image_side``).
MAX_IMAGE_SIDE = 2**15
#: Largest array of a record, uncompressed: a record declaring more is
#: refused before it is inflated (a mesh of 5 million vertices fits).
MAX_RECORD_ARRAY_BYTES = 64 << 20

# The header np.save writes for a C-ordered array of a plain dtype.
_NPY_HEADER = re.compile(
    r"\{'descr': '([<>|][a-z]\d+)', 'fortran_order': False, "
    r"'shape': \(([\d, ]*)\), \}\s*$"
)


def _parse_npy(buf: bytes) -> np.ndarray:
    """An array from .npy bytes; the common version 1 header is read by a
    pattern (np.load evaluates it as Python), anything else by np.load."""
    if buf[:8] == b'\x93NUMPY\x01\x00':
        n = int.from_bytes(buf[8:10], 'little')
        m = _NPY_HEADER.match(buf[10 : 10 + n].decode('latin1'))
        if m:
            shape = tuple(int(d) for d in m.group(2).split(',') if d.strip())
            arr = np.frombuffer(buf, np.dtype(m.group(1)), offset=10 + n)
            return arr.reshape(shape).copy()  # writable, like np.load's
    return np.load(io.BytesIO(buf), allow_pickle=False)


# A zip archive's end record, central directory entry and local header: the
# fields this reader needs are the compression method, CRC-32, sizes, name and
# local header offset.
_END = struct.Struct('<4s4H2LH')
_ENTRY = struct.Struct('<4s6H3L5H2L')
_LOCAL = struct.Struct('<4s5H3L2H')
_ZIP64 = 0xFFFFFFFF


def _zip_members(buf: bytes) -> Optional[Dict[str, tuple]]:
    """name -> (method, crc, data offset, compressed size, size) of a plain
    single-disk zip without comment or zip64 directory (what ``np.savez``
    writes); None for any other archive, which zipfile then reads."""
    if len(buf) < _END.size:
        return None
    sig, disk, _, count, _, _, start, comment = _END.unpack_from(
        buf, len(buf) - _END.size
    )
    if sig != b'PK\x05\x06' or disk or comment or start == _ZIP64:
        return None
    members = {}
    pos = start
    for _ in range(count):
        if pos + _ENTRY.size > len(buf):
            return None
        (
            sig,
            _,
            _,
            flags,
            method,
            _,
            _,
            crc,
            csize,
            size,
            n_name,
            n_extra,
            n_comment,
            _,
            _,
            _,
            offset,
        ) = _ENTRY.unpack_from(buf, pos)
        if (
            sig != b'PK\x01\x02'
            or flags & 1
            or _ZIP64 in (csize, size, offset)
        ):
            return None
        name = buf[pos + _ENTRY.size : pos + _ENTRY.size + n_name]
        pos += _ENTRY.size + n_name + n_extra + n_comment
        if offset + _LOCAL.size > len(buf):
            return None
        local = _LOCAL.unpack_from(buf, offset)
        if local[0] != b'PK\x03\x04':
            return None
        data = offset + _LOCAL.size + local[9] + local[10]
        if data + csize > len(buf):
            return None
        text = name.decode('utf-8' if flags & 0x800 else 'cp437')
        members[text] = (method, crc, data, csize, size)
    return members


def _check_member_size(name: str, size: int) -> None:
    if size > MAX_RECORD_ARRAY_BYTES:
        raise ValueError(
            f'{name} holds {size} bytes uncompressed, more than the '
            f'{MAX_RECORD_ARRAY_BYTES} a FaceSurface record array may'
        )


def _member(buf: bytes, name: str, entry: tuple) -> bytes:
    """The bytes of one member, checked against its size and CRC-32."""
    method, crc, start, csize, size = entry
    _check_member_size(name, size)
    raw = buf[start : start + csize]
    if method == zipfile.ZIP_DEFLATED:
        # Inflated to the declared size at most: a member that lies about
        # its size cannot make more.
        inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        raw = inflate.decompress(raw, size + 1)
    elif method != zipfile.ZIP_STORED:
        raise zipfile.BadZipFile(f'{name}: compression method {method}')
    if len(raw) != size or zlib.crc32(raw) != crc:
        raise zipfile.BadZipFile(f'{name}: bad size or CRC-32')
    return raw


def read_npz(path: str, names: Sequence[str]) -> Dict[str, np.ndarray]:
    """The named arrays of an ``.npz`` file, as ``np.load`` gives them.

    A record is read once per sample and epoch: the file is read in one call
    and its directory parsed here, skipping most of ``np.load``'s and
    zipfile's per-file and per-member overheads. Archives other than plain
    ones go through zipfile.

    Args:
        path (str): The ``.npz`` file.
        names (Sequence[str]): Arrays to read.

    Returns:
        dict[str, np.ndarray]: name -> array.

    Raises:
        KeyError: An array is missing.
        zipfile.BadZipFile: A member is corrupt.
    """
    with open(path, 'rb') as fh:
        buf = fh.read()
    members = _zip_members(buf)
    if members is None:
        return _read_npz_zipfile(path, names)
    out = {}
    for name in names:
        entry = members.get(f'{name}.npy')
        if entry is None:
            raise KeyError(f'{name} is not a file in the archive')
        out[name] = _parse_npy(_member(buf, name, entry))
    return out


def _read_npz_zipfile(path: str, names: Sequence[str]) -> dict:
    with zipfile.ZipFile(path) as z:
        members = {info.filename: info for info in z.infolist()}
        out = {}
        for name in names:
            info = members.get(f'{name}.npy')
            if info is None:
                raise KeyError(f'{name} is not a file in the archive')
            _check_member_size(name, info.file_size)
            out[name] = _parse_npy(z.read(info))
    return out


def _state(v, f, image_size) -> Optional[tuple]:
    """Everything validate() reads, as comparable values (None unless both
    arrays are numpy arrays).
    """
    if not isinstance(v, np.ndarray) or not isinstance(f, np.ndarray):
        return None
    return (
        v.shape,
        v.dtype.str,
        v.tobytes(),
        f.shape,
        f.dtype.str,
        f.tobytes(),
        tuple(image_size),
    )


class DegenerateMeshError(ValueError):
    """A mesh that cannot carry geodesics: NaN/inf vertices, bad faces, zero
    area.
    """


def _face_indices(faces, n_vertices: int) -> np.ndarray:
    """``faces`` as int32, checked before the cast: a cast would wrap an
    int64 index of 2^32 + k to k and truncate 1.6 to 1, making another
    mesh."""
    f = np.asarray(faces)
    if f.size == 0:
        return np.ascontiguousarray(f, dtype=np.int32)
    if f.dtype.kind not in 'iu':
        raise DegenerateMeshError(
            f'mesh: face indices must be integers, got {f.dtype}'
        )
    if f.min() < 0 or f.max() >= n_vertices:
        raise DegenerateMeshError(
            f'mesh: face indices out of range [0, {n_vertices}): '
            f'{f.min()}..{f.max()}'
        )
    return np.ascontiguousarray(f, dtype=np.int32)


@dataclass
class FaceSurface:
    """A triangle mesh placed in the image frame of a face crop.

    Coordinates: x to the right and y down in crop pixels (pixel
    (row r, column c) has its centre at (x=c, y=r)), z scaled like x and y,
    larger z closer to the camera.

    Args:
        vertices (np.ndarray): (V, 3) float32 vertex positions.
        faces (np.ndarray): (F, 3) int32 triangles, consistently oriented.
        image_size (tuple[int, int]): (H, W) of the crop the mesh lives in.
    """

    vertices: np.ndarray
    faces: np.ndarray
    image_size: Tuple[int, int]
    # What the last successful validate() saw, byte for byte: a surface
    # checked at load is not checked again by every consumer, yet any change
    # to it since (in place or by reassignment) is checked afresh.
    _validated: Optional[tuple] = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float32)
        self.faces = _face_indices(self.faces, len(self.vertices))
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    def validate(self, name: str = 'mesh') -> 'FaceSurface':
        """Raise :class:`DegenerateMeshError` (naming ``name``) unless
        usable.

        Repeated calls on an unchanged surface return at once.
        """
        v, f = self.vertices, self.faces
        state = _state(v, f, self.image_size)
        if state is not None and state == self._validated:
            return self
        if v.ndim != 2 or v.shape[1] != 3 or len(v) < 3:
            raise DegenerateMeshError(
                f'{name}: vertices must be (V>=3, 3), got {v.shape}'
            )
        if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
            raise DegenerateMeshError(
                f'{name}: faces must be (F>=1, 3), got {f.shape}'
            )
        if f.dtype.kind not in 'iu':
            raise DegenerateMeshError(
                f'{name}: face indices must be integers, got {f.dtype}'
            )
        if not np.isfinite(v).all():
            raise DegenerateMeshError(f'{name}: vertices contain NaN or inf')
        far = np.abs(v).max()
        if far > MAX_COORDINATE:
            raise DegenerateMeshError(
                f'{name}: a vertex coordinate is {far:.6g} px from the '
                f'origin, beyond the {MAX_COORDINATE:.0f} px any crop allows'
            )
        if f.min() < 0 or f.max() >= len(v):
            raise DegenerateMeshError(
                f'{name}: face indices out of range [0, {len(v)}): '
                f'{f.min()}..{f.max()}'
            )
        if min(self.image_size) < 1 or max(self.image_size) > MAX_IMAGE_SIDE:
            raise DegenerateMeshError(
                f'{name}: bad image_size {self.image_size} (sides must lie '
                f'in [1, {MAX_IMAGE_SIDE}])'
            )
        # A triangle's 3D area is at least its image area (|cross| >=
        # |cross_z|, also in rounded arithmetic), so the image area decides;
        # the 3D area is only for the message. Contiguous coordinate columns
        # and take(): strided (F, 3) arithmetic costs several times more.
        x, y = v[:, 0].astype(np.float64), v[:, 1].astype(np.float64)
        x0, y0 = x.take(f[:, 0]), y.take(f[:, 0])
        ax, ay = x.take(f[:, 1]) - x0, y.take(f[:, 1]) - y0
        bx, by = x.take(f[:, 2]) - x0, y.take(f[:, 2]) - y0
        area2d = 0.5 * np.abs(ax * by - ay * bx).sum()
        if not area2d > 1e-6:
            e1 = v[f[:, 1]].astype(np.float64) - v[f[:, 0]]
            e2 = v[f[:, 2]].astype(np.float64) - v[f[:, 0]]
            area3d = 0.5 * np.linalg.norm(np.cross(e1, e2), axis=1).sum()
            raise DegenerateMeshError(
                f'{name}: zero-area mesh (3D area {area3d:.3g}, image area '
                f'{area2d:.3g})'
            )
        self._validated = state
        return self

    def flip_horizontal(self) -> 'FaceSurface':
        """Mirror about the crop's vertical centre line (x -> W - 1 - x)."""
        v = self.vertices.copy()
        v[:, 0] = self.image_size[1] - 1 - v[:, 0]
        # A mirror reverses orientation; swap two corners to keep normals
        # outward.
        return FaceSurface(v, self.faces[:, ::-1], self.image_size)

    def transform(
        self, affine: np.ndarray, out_size: Tuple[int, int]
    ) -> 'FaceSurface':
        """Apply a 2x3 image affine (crop, resize, rotate) to the mesh.

        x, y follow the affine; z is multiplied by its mean scale
        ``sqrt(|det A|)`` so the mesh keeps its shape under similarity
        transforms.

        Args:
            affine (np.ndarray): (2, 3) matrix mapping old (x, y, 1) to new
                (x, y).
            out_size (tuple[int, int]): (H, W) of the new image.
        """
        a = np.asarray(affine, np.float64)
        if a.shape != (2, 3):
            raise ValueError(f'affine must be 2x3, got {a.shape}')
        v = self.vertices.astype(np.float64)
        out = np.empty_like(v)
        out[:, :2] = v[:, :2] @ a[:, :2].T + a[:, 2]
        out[:, 2] = v[:, 2] * np.sqrt(abs(np.linalg.det(a[:, :2])))
        faces = (
            self.faces if np.linalg.det(a[:, :2]) > 0 else self.faces[:, ::-1]
        )
        return FaceSurface(out, faces, out_size)

    def save(self, path: str) -> None:
        """Write a compressed .npz record atomically (temp file, then
        rename).
        """
        with atomic_path(os.fspath(path), '.tmp.npz') as tmp:
            with open(tmp, 'wb') as fh:
                np.savez_compressed(
                    fh,
                    vertices=self.vertices,
                    faces=self.faces,
                    image_size=np.asarray(self.image_size, np.int32),
                )

    @classmethod
    def load(cls, path: str) -> 'FaceSurface':
        """Read a record written by :meth:`save`; errors name the file."""
        try:
            data = read_npz(path, ('vertices', 'faces', 'image_size'))
            surface = cls(
                data['vertices'],
                data['faces'],
                tuple(int(v) for v in data['image_size']),
            )
        except FileNotFoundError:
            raise
        except Exception as exc:  # zip/pickle/key errors all mean a bad record
            reason = f'{exc}' or type(exc).__name__
            raise ValueError(
                f'{path}: not a valid FaceSurface record ({reason})'
            ) from exc
        return surface.validate(str(path))
