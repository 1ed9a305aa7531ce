#!/usr/bin/env bash
# CI's sanitizer step, run after the main tests: the core built with ASan + UBSan in a
# temporary copy of the tree (never the in-place build), then a fast subset of the core's tests
# (a few minutes on 2 cores). The full run is tools/sanitize.sh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tunecore-sanitize.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

TUNECORE_SANITIZE_DIR="$tmp" "$root/tools/sanitize.sh" \
    tests/test_training_grad.py \
    tests/test_samplers.py \
    tests/test_hardening_core.py \
    tests/test_training.py \
    -k "not torch and not bench and not ctrl_c and not memory" \
    -x "$@"
