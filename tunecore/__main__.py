"""``python -m tunecore``: the ``tunecore`` command."""

import sys

from tunecore.cli import main

if __name__ == "__main__":
    sys.exit(main())
