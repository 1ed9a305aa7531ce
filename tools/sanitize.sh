#!/usr/bin/env bash
# Build tunecore._core with AddressSanitizer + UndefinedBehaviorSanitizer and run the core's
# tests against it. The one command (see docs/HARDENING.md):
#
#     tools/sanitize.sh                  # the core's tests: training, gradients, samplers, hardening
#     tools/sanitize.sh -k edge          # extra arguments go to pytest
#
# The sanitized build never touches the normal in-place one: the sources are copied to
# $TUNECORE_SANITIZE_DIR (default build/sanitize-tree, kept between runs so a rebuild only
# recompiles what changed) and built and tested there. Any heap or stack overflow, use after
# free, or undefined behaviour in the core aborts the test process with a report on stderr,
# which fails the run. Needs GCC or Clang with their sanitizer runtimes (gcc: libasan, libubsan).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${TUNECORE_SANITIZE_DIR:-$root/build/sanitize-tree}
cxx=${CXX:-g++}
jobs=${TUNECORE_BUILD_JOBS:-2}

default_tests=(
    tests/test_training.py
    tests/test_training_grad.py
    tests/test_samplers.py
    tests/test_hardening_core.py
)

# A fresh copy of the sources (never the normal build's .so files or caches).
mkdir -p "$dest"
rm -rf "$dest/tunecore" "$dest/tests" "$dest/csrc" "$dest/tools"
(
    cd "$root"
    tar --exclude='*.so' --exclude='*.pyd' --exclude='__pycache__' --exclude='.hypothesis' \
        -cf - setup.py pyproject.toml README.md csrc tunecore tests tools
) | tar -xf - -C "$dest"

libasan=$("$cxx" -print-file-name=libasan.so)
libstdcxx=$("$cxx" -print-file-name=libstdc++.so)
if [[ ! -e "$libasan" ]]; then
    echo "sanitize.sh: $cxx has no libasan.so (install the compiler's sanitizer runtime)" >&2
    exit 2
fi

cd "$dest"
echo "sanitize.sh: building the ASan+UBSan extension in $dest" >&2
if ! TUNECORE_SANITIZE=1 CXX="$cxx" python setup.py build_ext --inplace -j"$jobs" \
        --build-temp build/temp-sanitize >build-sanitize.log 2>&1; then
    tail -40 build-sanitize.log >&2
    echo "sanitize.sh: the sanitized build failed (log: $dest/build-sanitize.log)" >&2
    exit 2
fi

# Python is not instrumented: the ASan runtime must be loaded before anything else, and the C++
# runtime with it (else ASan finds no __cxa_throw to intercept, and the first C++ exception in
# a process that had not loaded libstdc++ yet aborts with "real___cxa_throw != 0"). CPython
# keeps objects alive until exit by design, so leak detection would only report those.
export LD_PRELOAD="$libasan:$libstdcxx${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:strict_init_order=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export TUNECORE_SANITIZED=1  # tests that time the core or measure memory skip themselves

if [[ $# -eq 0 ]]; then
    set -- "${default_tests[@]}"
elif [[ "$1" == -* ]]; then
    set -- "${default_tests[@]}" "$@"
fi
# The tests must import the sanitized build, not an installed or in-place one.
core=$(python -c "import tunecore._core as c; print(c.__file__)")
if [[ "$core" != "$dest"/* ]]; then
    echo "sanitize.sh: python imports $core, not the sanitized build in $dest" >&2
    exit 2
fi
if [[ $(nm -D "$core" | grep -c __asan_report) -eq 0 ]]; then
    echo "sanitize.sh: $core holds no AddressSanitizer checks" >&2
    exit 2
fi
echo "sanitize.sh: running pytest $* (LD_PRELOAD=$LD_PRELOAD)" >&2
exec python -m pytest -q -p no:cacheprovider "$@"
