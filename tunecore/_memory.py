"""The machine's memory, for refusing requests that could never fit in it.

An allocation larger than RAM is often granted lazily by the OS and ends with the process
killed when it is touched; tunecore refuses such requests up front with a ValueError instead.
"""

from __future__ import annotations

import functools
import os


@functools.lru_cache(maxsize=1)
def physical_memory() -> int | None:
    """Bytes of RAM on this machine, None where the OS does not say (asked once)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None
