"""What tests/test_plot.py and tests/test_plot_facets.py share: the failure type and check, a
subprocess runner, PNG digests, the dependency check (exit 77 for ctest's SKIP_RETURN_CODE) and
the byte-identical replot; the figures initbench.plot draws, as objects, and their texts; and a
test script's main with its temporary work folder, which
tests/test_merge_plots.py and tests/test_html_report.py use. Standard library only."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def test_main(doc, count, prefix, body, missing=None):
    """A test script's main: its usage (doc, exit 2) unless sys.argv has `count` arguments; the
    SKIP line of missing() (default: missing_plot_dependency) when it says something is missing;
    else body(arguments, work) in a temporary work folder (in_work_folder)."""
    if len(sys.argv) != count + 1:
        print(doc)
        return 2
    skip = (missing or missing_plot_dependency)()
    if skip:
        print(skip)
        return SKIP
    return in_work_folder(prefix, lambda work: body(sys.argv[1:], work))


def in_work_folder(prefix, body):
    """body(work) in a new temporary folder; returns the exit status: 0 ("ok", the folder
    removed), 1 on a Failure (the folder kept and named), or the SKIP that body returns."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        status = body(work) or 0
    except Failure as e:
        print(f"FAIL: {e}")
        print(f"(work folder kept: {work})")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    if status == 0:
        print("ok")
    return status


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


def draw_figures(folder):
    """initbench.plot.plot on folder (python/ on sys.path, setup_matplotlib called): ({file
    name: its matplotlib Figure}, what it printed). The PNGs are written too."""
    import io
    from contextlib import redirect_stdout
    from initbench.plot import plot
    figures = {}
    out = io.StringIO()
    with redirect_stdout(out):
        plot(folder, figures)
    return figures, out.getvalue()


def figure_texts(fig):
    """Every string fig shows: titles, labels, legend entries, notes."""
    from matplotlib.text import Text
    return [t.get_text() for t in fig.findobj(Text)]
