"""The environment of the tests' child processes: the same tunecore build the tests import.

The tests import tunecore from site-packages after ``pip install``, or from the source tree
after an in-place build. A child process must see that same package, never the source tree's
uncompiled copy, so it gets the imported package's folder first on its path and
PYTHONSAFEPATH=1 (Python 3.11+), which keeps its working folder off the path.
"""

from __future__ import annotations

import os
from pathlib import Path

import tunecore

#: The folder that holds the tunecore package the tests import.
PACKAGE_PARENT = str(Path(tunecore.__file__).resolve().parent.parent)
#: The tests folder, for children that import helpers defined in the tests.
TESTS = str(Path(__file__).resolve().parent)


def child_env(**extra: str) -> dict[str, str]:
    """``os.environ`` plus ``extra``, with the tested tunecore (and the tests) on the path."""
    paths = [PACKAGE_PARENT, TESTS, os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONSAFEPATH="1", **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env
