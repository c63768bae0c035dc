"""python3 -m initbench.plot DIR: see initbench.plot."""

import sys

from . import main

sys.exit(main(sys.argv[1:]))
