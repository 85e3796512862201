"""``python3 -m analysis``: the entry point the C++ ``zcbench report|compare`` execs."""

import sys

from analysis.cli import main

if __name__ == "__main__":
    sys.exit(main())
