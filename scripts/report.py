#!/usr/bin/python3
"""One self-contained HTML page for an initbench experiment folder: DIR -> DIR/report.html.

Usage: /usr/bin/python3 scripts/report.py DIR [-o FILE] [--force]     (or --help)

The command `initbench report` calls (src/main.cpp). The page is made by the package module
python/initbench/report.py (`initbench.report.main`), taken from this source tree; its docstring
says what the page holds and how it is written (--help prints it).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir,
                                "python"))

from initbench.report import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
