"""The one place where tunecore turns seeds into seeds.

Randomness in a study is a pure function of (study seed, key): trial k of a study with seed s
draws from ``child_seed(s, k)`` whether it runs first, last, alone or in a parallel batch, and
whether or not the study was resumed in between.
"""

from __future__ import annotations

import numbers

import numpy as np

_MAX_SEED = 2**63 - 1


def resolve_seed(seed: int | None, *, argument: str = "seed") -> int:
    """Return ``seed`` checked, or a fresh seed from the OS when it is None."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] & _MAX_SEED)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{argument} must be an int or None, got {seed!r}")
    seed = int(seed)
    if not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"{argument} must be in [0, 2**63 - 1], got {seed!r}")
    return seed


def child_seed(seed: int, *key: int) -> int:
    """Return a 63-bit seed derived from ``seed`` and the integer path ``key``.

    Distinct keys give independent streams (NumPy's SeedSequence hashing); the result depends
    on nothing but its arguments.
    """
    seq = np.random.SeedSequence(resolve_seed(seed), spawn_key=tuple(int(k) for k in key))
    return int(seq.generate_state(1, np.uint64)[0] & _MAX_SEED)
