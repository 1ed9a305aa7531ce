"""Build of tunecore's C++ core, ``tunecore._core``.

Every ``.cpp`` under ``csrc/`` is compiled into one pybind11 extension. OpenMP:

- Linux (GCC or Clang): ``-fopenmp`` at compile and link time; auditwheel grafts libgomp
  into the repaired wheel.
- macOS: Apple clang needs ``-Xpreprocessor -fopenmp`` and libomp from Homebrew
  (``brew install libomp``); the flags below look for it under ``$(brew --prefix libomp)``
  or ``OpenMP_ROOT``. Without libomp the core still builds, single-threaded.
- Windows (MSVC): ``/openmp`` (OpenMP 2.0; the core uses nothing newer).

No ``-march=native``: a wheel must run on any x86-64. Faster instruction sets are chosen at
run time inside the core.

``TUNECORE_DEBUG=1`` builds without optimization and with debug symbols.

``TUNECORE_SANITIZE=1`` (GCC or Clang on Linux or macOS) builds with AddressSanitizer and
UndefinedBehaviorSanitizer: ``-fsanitize=address,undefined -fno-sanitize-recover=undefined
-fno-omit-frame-pointer -O1 -g`` at compile and link time, so any out-of-bounds access, use
after free or undefined behaviour in the core aborts the process with a report. Python itself
is not instrumented, so the sanitizer runtime must be loaded first (``LD_PRELOAD`` of
``$(g++ -print-file-name=libasan.so)``) and leak detection turned off (CPython keeps memory
until exit by design). Never build it in place over the normal build: ``tools/sanitize.sh``
builds and runs the core's tests in a copy of the tree (docs/HARDENING.md).
"""

import glob
import os
import subprocess
import sys

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup

ParallelCompile("TUNECORE_BUILD_JOBS", default=0).install()


def _openmp_flags():
    """Return (compile_args, link_args) that turn OpenMP on for this platform."""
    if sys.platform == "win32":
        return ["/openmp"], []
    if sys.platform == "darwin":
        root = os.environ.get("OpenMP_ROOT")
        if root is None:
            try:
                root = subprocess.check_output(["brew", "--prefix", "libomp"], text=True).strip()
            except (OSError, subprocess.CalledProcessError):
                return [], []
        return (
            ["-Xpreprocessor", "-fopenmp", f"-I{root}/include"],
            [f"-L{root}/lib", "-lomp"],
        )
    return ["-fopenmp"], ["-fopenmp"]


SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
SANITIZING = os.environ.get("TUNECORE_SANITIZE") == "1" and sys.platform != "win32"


def _optimization_flags():
    if sys.platform == "win32":
        return ["/O2"]
    if SANITIZING:
        return SANITIZE + ["-fno-omit-frame-pointer", "-O1", "-g"]
    if os.environ.get("TUNECORE_DEBUG") == "1":
        return ["-O0", "-g"]
    return ["-O3", "-fno-math-errno"]


omp_compile, omp_link = _openmp_flags()
sources = sorted(glob.glob("csrc/**/*.cpp", recursive=True))

ext = Pybind11Extension(
    "tunecore._core",
    sources,
    include_dirs=["csrc"],
    cxx_std=17,
    extra_compile_args=_optimization_flags() + omp_compile,
    extra_link_args=omp_link + (SANITIZE if SANITIZING else []),
)

setup(ext_modules=[ext], cmdclass={"build_ext": build_ext})
