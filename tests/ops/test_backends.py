"""Which backend runs where: GEOCONV_BACKEND, use_backend, build_info, the
portable fallback without the extension and the native kernel's self-check.
"""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from geoconv_mm.ops import backends, build_info, geo_conv2d, use_backend
from geoconv_mm.ops.portable import geo_conv2d_portable

from .test_geo_conv import CASES, make

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def run_python(
    code: str, env=None, timeout=600
) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh interpreter at the repository root."""
    full_env = dict(os.environ)
    full_env.pop('GEOCONV_BACKEND', None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_build_info_reports_what_each_device_uses():
    info = build_info()
    assert info['compiled'] is True and info['backend'] == 'auto'
    assert info['devices']['cpu'] == 'native'
    assert info['devices']['cuda'] == ('native' if info['cuda'] else 'torch')
    with use_backend('torch'):
        assert set(build_info()['devices'].values()) == {'torch'}
    assert build_info()['backend'] == 'auto'


def test_use_backend_chooses_and_restores(monkeypatch):
    calls = []
    monkeypatch.setattr(
        'geoconv_mm.ops.geo_conv.geo_conv2d_portable',
        lambda *a, **k: calls.append('torch') or geo_conv2d_portable(*a, **k),
    )
    x, w, g, b, s, p, d, groups = make(CASES[0])
    native = geo_conv2d(x, w, g, b, s, p, d, groups)
    with use_backend('torch'):
        portable = geo_conv2d(x, w, g, b, s, p, d, groups)
    assert calls == ['torch']
    torch.testing.assert_close(portable, native)
    assert backends.requested_backend() == 'auto'
    with pytest.raises(ValueError, match="backend must be one of"):
        with use_backend('cudnn'):
            pass


def test_an_unknown_backend_in_the_environment_is_a_clear_error():
    result = run_python('import geoconv_mm', env={'GEOCONV_BACKEND': 'fast'})
    assert result.returncode != 0
    assert "GEOCONV_BACKEND='fast' is not a GeoConv backend" in result.stderr


def test_environment_forces_the_portable_backend():
    result = run_python(
        """
        import torch
        from geoconv_mm.ops import build_info, geo_conv2d
        from geoconv_mm.ops import backends
        assert build_info()['backend'] == 'torch'
        assert backends.backend_for('cpu', torch.float32, 'torch') == 'torch'
        x = torch.randn(1, 2, 5, 5).half()
        out = geo_conv2d(x, torch.randn(3, 2, 3, 3).half(),
                         torch.rand(1, 9, 5, 5).half(), None, 1, 1)
        assert out.dtype == torch.float16
        """,
        env={'GEOCONV_BACKEND': 'torch'},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'portable' not in result.stderr  # forced: no fallback line


def test_a_device_without_native_kernels_falls_back():
    # This build has CPU kernels; a device type without any (as CUDA in a
    # CPU-only build, or MPS and XPU always) plans the portable backend.
    assert backends.plan('mps', 'auto') == 'torch'
    assert backends.plan('xpu', 'auto') == 'torch'
    assert backends.plan('cpu', 'auto') == 'native'
    assert backends.plan('mps', 'native') == 'native'  # forced: as asked
    if not build_info()['cuda']:
        assert backends.plan('cuda', 'auto') == 'torch'
        assert 'without its CUDA kernels' in backends._why_not_native('cuda')


def test_forced_native_on_a_device_without_kernels_says_so():
    x = torch.randn(1, 2, 5, 5, device='meta')
    # meta tensors run the fake kernels of the native operator
    with use_backend('native'):
        out = geo_conv2d(
            x,
            torch.randn(3, 2, 3, 3, device='meta'),
            torch.rand(1, 9, 5, 5, device='meta'),
            None,
            1,
            1,
        )
    assert out.shape == (1, 3, 5, 5) and out.device.type == 'meta'


def test_the_self_check_passes_on_this_build():
    for dtype in (torch.float32, torch.float64):
        assert backends.self_check('cpu', dtype) is None


def test_the_self_check_catches_a_wrong_native_kernel():
    # A CPU kernel that forgets the geodesic weights (a plain convolution):
    # auto must not use it, and must say why.
    result = run_python(
        """
        import warnings
        import torch, torch.nn.functional as F
        from geoconv_mm.ops import backends, geo_conv2d

        lib = torch.library.Library('geoconv_mm', 'IMPL')

        def wrong(x, w, g, b, stride, padding, dilation, groups):
            return F.conv2d(x, w, b, stride, padding, dilation, groups)

        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # "overriding a kernel"
            lib.impl('geo_conv2d_forward', wrong, 'CPU')
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            choice = backends.backend_for('cpu', torch.float64, 'auto')
        assert choice == 'torch', choice
        text = ' '.join(str(w.message) for w in caught)
        assert 'self-check on cpu torch.float64' in text, text
        assert 'output: max abs difference' in text, text
        assert 'portable backend is used instead' in text, text
        # float32 is checked on its own: also refused
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            assert backends.backend_for('cpu', torch.float32, 'auto') == \\
                'torch'
            # forced native keeps the kernel, with the warning
            assert backends.backend_for('cpu', torch.float64, 'native') == \\
                'native'
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]


NO_EXTENSION = """
    import logging, sys
    sys.modules['geoconv_mm.ops._C'] = None  # as if never compiled
    sys.modules['geoconv_mm.geodesic._C'] = None
    logging.basicConfig(level=logging.WARNING)
    import numpy as np
    import torch
    import geoconv_mm
    from geoconv_mm.ops import build_info, geo_conv2d
"""


def test_the_package_runs_without_the_extension():
    # The portable op, and the numpy backend for the geodesic weights: each
    # says so once.
    result = run_python(
        NO_EXTENSION
        + """
    from geoconv_mm.geodesic import FaceSurface, compute_geodesic_weights
    from geoconv_mm.ops import GeoSpec
    from geoconv_mm.ops.reference import geo_conv2d_taps
    from tests.fixtures.meshes import grid_mesh

    info = build_info()
    assert info['compiled'] is False, info
    assert info['devices']['cpu'] == 'torch', info
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 7, generator=gen, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, generator=gen, dtype=torch.float64)
    g = torch.rand(2, 9, 6, 7, generator=gen, dtype=torch.float64)
    for _ in range(2):
        out = geo_conv2d(x, w, g, None, 1, 1)
    torch.testing.assert_close(
        out, geo_conv2d_taps(x, w, g, None, (1, 1), (1, 1), (1, 1)))

    # A flat plane over the whole image: every weight is 1.
    surface = FaceSurface(*grid_mesh(-2, 33, -2, 33, 1.0), (32, 32))
    for _ in range(2):
        weights = compute_geodesic_weights(surface, [GeoSpec(1)])
    np.testing.assert_allclose(weights[GeoSpec(1).key], 1.0, atol=1e-5)
    """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count('using the portable PyTorch backend') == 1
    assert result.stderr.count('the extension geoconv_mm.ops._C is not') == 1
    assert result.stderr.count('use the numpy backend') == 1


def test_a_geocnn_trains_without_the_extension():
    result = run_python(
        NO_EXTENSION
        + """
    from tests.fixtures.tools import load_tool

    tool = load_tool('tools/benchmarks/benchmark_train_step.py')
    model, optim = tool.build('configs/geocnn_synthau_demo.py', 'cpu')
    batch = tool.make_batch(model, 2, 32, 'cpu')
    losses = [float(model.train_step(batch, optim)['loss'])
              for _ in range(3)]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
    """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count('using the portable PyTorch backend') == 1
