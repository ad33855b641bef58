"""Frame I/O, config fold and work-dir functions, atomic file writes."""

from .atomic_io import (
    atomic_imwrite,
    atomic_path,
    atomic_savez,
    atomic_write_bytes,
    atomic_write_json,
)
from .config import (
    add_config_args,
    add_meta_keys,
    default_work_dir,
    ensure_geo_specs_hook,
    load_config,
    set_fold,
)

__all__ = [
    'add_config_args',
    'load_config',
    'atomic_path',
    'atomic_savez',
    'atomic_write_bytes',
    'atomic_write_json',
    'atomic_imwrite',
    'add_meta_keys',
    'default_work_dir',
    'ensure_geo_specs_hook',
    'set_fold',
]
