"""The machine facts a CPU training run's exact result depends on."""

from __future__ import annotations

import platform
from typing import Dict, Optional


def _cpu_model() -> str:
    fields: Dict[str, str] = {}
    try:
        with open('/proc/cpuinfo') as fh:
            for line in fh:
                key, _, value = line.partition(':')
                key = key.strip()
                if not key:  # the first processor's block ends here
                    break
                fields.setdefault(key, value.strip())
    except OSError:
        pass
    if 'model name' not in fields:
        return platform.processor() or platform.machine()
    # Virtual machines often report a bare family name ("AMD EPYC"); the
    # family and model numbers tell CPU generations apart.
    ids = [f'{k} {fields[k]}' for k in ('cpu family', 'model') if k in fields]
    return fields['model name'] + (f' ({", ".join(ids)})' if ids else '')


def host_fingerprint() -> Dict[str, str]:
    """The CPU model, the instruction set torch dispatches its kernels to,
    and torch's version.

    Runs with the same seed agree bit for bit only when these agree: the
    kernels of another instruction set (AVX-512 against AVX2, say) round
    differently, and over a training run the difference grows like a change
    of seed. Seed-paired comparisons therefore pair runs of one fingerprint.
    ``ATEN_CPU_CAPABILITY`` in the environment changes the dispatch and is
    seen here.

    Returns:
        dict: ``cpu``, ``cpu_capability`` and ``torch``.
    """
    import torch

    return dict(
        cpu=_cpu_model(),
        cpu_capability=str(torch.backends.cpu.get_cpu_capability()),
        torch=torch.__version__,
    )


def describe_host(host: Optional[Dict[str, str]]) -> str:
    """One line for messages; ``None`` is a record that predates the
    fingerprint.
    """
    if not host:
        return 'an unrecorded machine'
    return f'{host["cpu"]}, {host["cpu_capability"]}, torch {host["torch"]}'
