#!/usr/bin/python3
"""Plot an initbench experiment folder: DIR/*.csv -> DIR/plots/*.png.

Usage: /usr/bin/python3 scripts/plot.py DIR     (or --help)

The command `initbench run` and `initbench plot` call (src/main.cpp). The figures are drawn by
the package python/initbench/plot/ (`initbench.plot.main`), taken from this source tree; its
docstring lists them (--help prints it).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir,
                                "python"))

from initbench.plot import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
