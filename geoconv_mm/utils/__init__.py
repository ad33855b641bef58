"""Small shared helpers."""
from .atomic_io import (atomic_imwrite, atomic_path, atomic_savez, atomic_write_bytes,
                        atomic_write_json)

__all__ = ['atomic_path', 'atomic_savez', 'atomic_write_bytes', 'atomic_write_json',
           'atomic_imwrite']
