"""What tests/test_plot.py and tests/test_plot_facets.py share: the failure type and check, a
subprocess runner, PNG digests, the dependency check (exit 77 for ctest's SKIP_RETURN_CODE) and
the byte-identical replot. Standard library only."""

import hashlib
import os
import subprocess
import sys

SKIP = 77


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def run(cmd, timeout=900, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def missing_plot_dependency():
    """The SKIP line when numpy, pandas or matplotlib is missing, else None."""
    try:
        import matplotlib  # noqa: F401
        import numpy  # noqa: F401
        import pandas  # noqa: F401
    except ImportError as e:
        return (f"SKIP: {e.name} is not installed for {sys.executable} (apt-get install "
                f"python3-matplotlib python3-numpy python3-pandas)")
    return None


def plot_script(source, folder, env=None, timeout=900):
    """scripts/plot.py of the source tree on folder."""
    return run([sys.executable, os.path.join(source, "scripts", "plot.py"), folder], env=env,
               timeout=timeout)


def digests(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def check_replots_identically(source, folder, hash_seed, timeout=900):
    """Plots folder again (under another PYTHONHASHSEED): the same PNG files, byte for byte."""
    plots = os.path.join(folder, "plots")
    first = digests(plots)
    r = plot_script(source, folder, dict(os.environ, PYTHONHASHSEED=hash_seed), timeout)
    check(r.returncode == 0,
          f"plot.py {folder} (second time): exit {r.returncode}\n{r.stdout}{r.stderr}")
    second = digests(plots)
    changed = sorted(n for n in first if first[n] != second.get(n))
    check(first.keys() == second.keys() and not changed,
          f"plot.py {folder}: not byte-identical when plotted again: {changed}")
    return len(first)
