"""``python3 -m analysis``: the entry point the C++ ``zcbench report|compare`` execs."""

import sys


def _check_dependencies() -> None:
    # A python3 earlier on PATH than Debian's may lack the python3-* packages; say so
    # plainly instead of a traceback (exit 2: no verdict could be given).
    missing = []
    for module in ("numpy", "scipy", "matplotlib"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        sys.stderr.write(
            f"zcbench analysis: {sys.executable} cannot import {', '.join(missing)}.\n"
            "Use the interpreter that has Debian's python3-numpy, python3-scipy and "
            "python3-matplotlib, e.g. /usr/bin/python3 -m analysis ...\n")
        sys.exit(2)


if __name__ == "__main__":
    _check_dependencies()
    from analysis.cli import main

    sys.exit(main())
