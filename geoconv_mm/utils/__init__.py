"""Frame I/O, config fold and work-dir functions, atomic file writes, the
host fingerprint, output folders checked before work, worker processes that
fail fast and end with their parent, and the shards of cluster array jobs."""

from .atomic_io import (
    atomic_imwrite,
    atomic_path,
    atomic_savez,
    atomic_write_bytes,
    atomic_write_json,
)
from .config import (
    add_config_args,
    add_launcher_args,
    default_work_dir,
    ensure_geo_specs_hook,
    export_local_rank,
    load_config,
    merge_config_args,
    runner_dataloader,
    set_fold,
)
from .host import describe_host, host_fingerprint
from .output_dir import ensure_writable_dir
from .parent_death import die_with_parent
from .worker_pool import WorkerDiedError, WorkerPool, WorkerStartError

__all__ = [
    'add_config_args',
    'add_launcher_args',
    'export_local_rank',
    'load_config',
    'merge_config_args',
    'runner_dataloader',
    'atomic_path',
    'atomic_savez',
    'atomic_write_bytes',
    'atomic_write_json',
    'atomic_imwrite',
    'default_work_dir',
    'ensure_geo_specs_hook',
    'set_fold',
    'describe_host',
    'host_fingerprint',
    'ensure_writable_dir',
    'die_with_parent',
    'WorkerDiedError',
    'WorkerPool',
    'WorkerStartError',
]
