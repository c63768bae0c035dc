#!/usr/bin/python3
"""ctest: stream.png (python/initbench/plot/stream.py) on a real folder.

Usage: /usr/bin/python3 tests/test_plot_stream.py INITBENCH SOURCE_DIR

Runs experiments/residual_depth.toml small (3 and 300 blocks of width 64, one seed, 2 steps on
128 images: plain He, residual He, Fixup, ReZero, SkipInit) and checks:
- stream.png is drawn with a panel per depth at step 0 and at the last step (4 panels);
- each panel has one line per residual run (4; the plain net has no stream) at step 0, and the
  panels at the last step name the diverged residual He run instead of drawing it at 300 blocks;
- at 300 blocks, step 0: residual He's line ends at its last finite block (200-299) with a cross
  (the float overflow), its values growing more than 1e30-fold; Fixup's and ReZero's lines are
  flat (every block at x_0's RMS), drawn on a log y axis;
- a folder without stream.csv skips the figure with a note;
- plotted again (another hash seed), the PNG files are byte-identical.
Exits 77 (ctest SKIP_RETURN_CODE) when numpy, pandas or matplotlib is missing.
"""

import io
import os
import shutil
import sys
from contextlib import redirect_stdout

from plot_support import check, check_replots_identically, run, test_main


def body(arguments, work):
    initbench, source = (os.path.abspath(a) for a in arguments)
    sys.path.insert(0, os.path.join(source, "python"))
    import numpy as np
    from initbench.plot import plot, setup_matplotlib
    setup_matplotlib()

    spec = os.path.join(source, "experiments", "residual_depth.toml")
    out = os.path.join(work, "out")
    args = [initbench, "run", spec, "--out", out, "--threads", "2", "--no-plot",
            "--set", "seed=[1]", "--set", "model.depth=[3, 300]", "--set", "train.steps=2",
            "--set", "train.eval_every=0", "--set", "data.limit_train=128",
            "--set", "data.limit_test=64", "--set", "probes.batch=32"]
    r = run(args, timeout=600)
    check(r.returncode == 0, f"initbench run: exit {r.returncode}\n{r.stderr}")
    folder = os.path.join(out, "residual_depth")

    figures = {}
    with redirect_stdout(io.StringIO()):
        plot(folder, figures)
    check("stream.png" in figures, f"not drawn ({sorted(figures)})")
    axes = [ax for ax in figures["stream.png"].axes if ax.get_title()]
    titles = [ax.get_title() for ax in axes]
    print(f"  panels: {titles}")
    check(titles == ["model.depth = 3, step 0", "model.depth = 300, step 0",
                     "model.depth = 3, step 2", "model.depth = 300, step 2"], f"titles {titles}")
    for ax in axes:
        check(ax.get_yscale() == "log", f"{ax.get_title()}: y axis {ax.get_yscale()}")
    lines = lambda ax: [ln for ln in ax.get_lines() if ln.get_gid() != "overflow"]  # noqa: E731
    for ax in axes[:2]:
        check(len(lines(ax)) == 4, f"{ax.get_title()}: {len(lines(ax))} lines, not 4")
    notes = [t.get_text() for t in axes[3].texts if t.get_gid() == "stream_note"]
    check(notes == ["stopped before step 2: he_normal"], f"300 blocks, step 2: notes {notes}")
    check(len(lines(axes[3])) == 3, f"300 blocks, step 2: {len(lines(axes[3]))} lines, not 3")

    deep = axes[1]
    crosses = [ln for ln in deep.get_lines() if ln.get_gid() == "overflow"]
    check(len(crosses) == 1, f"300 blocks: {len(crosses)} overflow crosses, not 1")
    ends = [ln for ln in lines(deep) if len(ln.get_xdata()) < 301]
    check(len(ends) == 1, f"300 blocks: {len(ends)} lines end early, not 1 (residual He)")
    x, y = np.asarray(ends[0].get_xdata()), np.asarray(ends[0].get_ydata())
    print(f"  residual He at 300 blocks: finite to block {x[-1]}, RMS {y[0]:.3g} -> {y[-1]:.3g}")
    check(200 <= x[-1] < 300, f"residual He's last finite block {x[-1]}")
    check(np.isfinite(y).all() and y[-1] / y[0] > 1e30, f"residual He's growth {y[-1] / y[0]}")
    check(tuple(crosses[0].get_xdata()) == (x[-1],), "the cross is not at the last finite block")
    flat = [ln for ln in lines(deep) if len(ln.get_xdata()) == 301 and
            np.ptp(np.asarray(ln.get_ydata())) == 0.0]
    check(len(flat) >= 2, f"300 blocks: {len(flat)} flat lines (Fixup and ReZero), not >= 2")

    count = check_replots_identically(source, folder, "4242", timeout=600)
    print(f"  {count} PNGs byte-identical when plotted again")

    bare = os.path.join(work, "bare")
    shutil.copytree(folder, bare)
    os.remove(os.path.join(bare, "stream.csv"))
    text = io.StringIO()
    with redirect_stdout(text):
        plot(bare, {})
    check("skip stream.png: no stream.csv" in text.getvalue(), f"without stream.csv: "
          f"{text.getvalue()}")
    check(not os.path.exists(os.path.join(bare, "plots", "stream.png")),
          "stream.png left in plots/ without stream.csv")


if __name__ == "__main__":
    sys.exit(test_main(__doc__, 2, "initbench-stream-", body))
