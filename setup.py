"""Build and install geoconv-mm.

The GeoConv operator is compiled from ``ops/csrc``: C++ for the CPU always,
CUDA kernels when torch sees a GPU and CUDA_HOME is set, or when
``FORCE_CUDA=1`` (for build hosts without a GPU). torch must be importable
at build time, so install with ``pip install -e . --no-build-isolation``.

``GEOCONV_NO_EXT=1 pip install -e .`` installs without compiling anything
(no compiler, no torch at build time): GeoConv then runs on its portable
PyTorch backend and the geodesic weights on their numpy backend, both slower.
"""

import glob
import os
import platform

from setuptools import find_packages, setup

ROOT = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join('ops', 'csrc')


def read_version() -> str:
    scope: dict = {}
    with open(os.path.join(ROOT, 'geoconv_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(path: str) -> list:
    reqs = []
    with open(os.path.join(ROOT, path)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def with_cuda() -> bool:
    import torch
    from torch.utils.cpp_extension import CUDA_HOME

    if os.getenv('FORCE_CUDA', '0') == '1':
        return True
    return torch.cuda.is_available() and CUDA_HOME is not None


def openmp_flags() -> list:
    # at::parallel_for is an inline OpenMP template: without -fopenmp our
    # kernels would silently run on one thread. Apple clang has no -fopenmp.
    return [] if platform.system() == 'Darwin' else ['-fopenmp']


def sanitizer_flags() -> list:
    # GEOCONV_SANITIZE=1: an ASan+UBSan build of the C++ kernels. Python is
    # not built with them, so tests preload both runtimes and libstdc++
    # (without it, a C++ exception thrown from another extension aborts):
    # LD_PRELOAD="$(gcc -print-file-name=libasan.so)
    # $(gcc -print-file-name=libubsan.so)
    # $(gcc -print-file-name=libstdc++.so.6)" ASAN_OPTIONS=detect_leaks=0
    if os.getenv('GEOCONV_SANITIZE', '0') != '1':
        return []
    return ['-fsanitize=address,undefined', '-fno-omit-frame-pointer', '-g']


def headers(*dirs: str) -> list:
    """Headers under ``dirs`` of CSRC: an extension lists them as
    ``depends``, so that a change in a header alone rebuilds it."""
    found = []
    for d in dirs:
        for ext in ('h', 'cuh'):
            found += glob.glob(os.path.join(CSRC, d, f'*.{ext}'))
    return sorted(found)


def make_extensions() -> list:
    if os.getenv('GEOCONV_NO_EXT', '0') == '1':
        return []
    try:
        import torch
        from torch.utils.cpp_extension import CppExtension, CUDAExtension
    except ImportError:  # metadata-only invocations (egg_info) without torch
        return []
    cuda = with_cuda()
    version_macros = [
        ('GEOCONV_TORCH_VERSION', f'"{torch.__version__}"'),
        ('GEOCONV_CUDA_VERSION', f'"{torch.version.cuda}"' if cuda else '""'),
    ]
    sources = sorted(
        glob.glob(os.path.join(CSRC, '*.cpp'))
        + glob.glob(os.path.join(CSRC, 'cpu', '*.cpp'))
    )
    cxx_flags = ['-O3'] + openmp_flags() + sanitizer_flags()
    extra_compile_args = {'cxx': cxx_flags}
    macros = list(version_macros)
    ext_cls = CppExtension
    if cuda:
        sources += sorted(glob.glob(os.path.join(CSRC, 'cuda', '*.cu')))
        macros.append(('WITH_CUDA', None))
        extra_compile_args['nvcc'] = ['-O3', '--expt-relaxed-constexpr']
        ext_cls = CUDAExtension
    extensions = [
        ext_cls(
            'geoconv_mm.ops._C',
            sources,
            include_dirs=[os.path.join(ROOT, CSRC)],
            depends=headers('', 'common', 'cpu', 'cuda'),
            define_macros=macros,
            extra_compile_args=extra_compile_args,
            extra_link_args=openmp_flags() + sanitizer_flags(),
        ),
    ]
    geometry_sources = sorted(
        glob.glob(os.path.join(CSRC, 'geometry', '*.cpp'))
    )
    if geometry_sources:
        extensions.append(
            CppExtension(
                'geoconv_mm.geodesic._C',
                geometry_sources,
                include_dirs=[os.path.join(ROOT, CSRC)],
                depends=headers('geometry'),
                extra_compile_args={'cxx': cxx_flags},
                extra_link_args=openmp_flags(),
            )
        )
    return extensions


def cmdclass() -> dict:
    if os.getenv('GEOCONV_NO_EXT', '0') == '1':
        return {}
    try:
        from torch.utils.cpp_extension import BuildExtension
    except ImportError:
        return {}
    return {'build_ext': BuildExtension}


setup(
    name='geoconv-mm',
    version=read_version(),
    description='GeoConv: geodesic guided convolution for facial action '
    'unit recognition, as an OpenMMLab plugin',
    long_description=open(os.path.join(ROOT, 'README.md')).read()
    if os.path.exists(os.path.join(ROOT, 'README.md'))
    else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    package_data={'geoconv_mm.face': ['assets/*.npy']},
    install_requires=read_requirements('requirements/runtime.txt'),
    ext_modules=make_extensions(),
    cmdclass=cmdclass(),
    zip_safe=False,
)
