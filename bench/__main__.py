"""``python -m mcav.bench`` (or ``python -m bench`` in the clone): the benchmarks, as ``mcav bench``."""

import sys

from .run import main

if __name__ == "__main__":
    sys.exit(main())
