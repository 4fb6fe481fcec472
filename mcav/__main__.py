"""``python -m mcav``: the ``mcav`` command."""

import sys

from mcav.runtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
