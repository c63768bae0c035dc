#!/usr/bin/python3
"""ctest: jacobian_moments.png and scripts/jacobian_moments.py on a small square network.

Usage: /usr/bin/python3 tests/test_plot_jacobian_moments.py INITBENCH SOURCE_DIR

Runs the initbench binary on a spec written here (a linear teacher with 16 inputs and outputs,
width 16, so J = dz_L/dx is square; a zip group of orthogonal tanh and He ReLU, depths 1 and 4,
2 seeds, 2 Jacobian samples, no training) and checks:
- scripts/plot.py draws jacobian_moments.png: two log-log panels, a measured line per setting
  over the depths, whose values are the mean over Jacobians of the mean and variance of s^2
  computed here from jacobian.csv with plain Python; the dashed ReLU prediction is
  sw2 (sw2 / 2)^d and m1^2 (2 d + 1) (He weights) from runs.csv's sigma_w2; the legend names the
  zip labels;
- scripts/jacobian_moments.py prints the table: one row per setting and depth, the same m1;
- the figure is skipped with a note (and a stale PNG removed) without jacobian.csv and without
  runs.csv's q_star column, and without a note when J is not square (the figure does not apply);
  the table command then fails with one line.
Exits 77 (ctest SKIP_RETURN_CODE) when numpy, pandas or matplotlib is missing.
"""

import csv
import io
import math
import os
import shutil
import sys
from collections import defaultdict

from plot_support import check, draw_figures, figure_texts, plot_script, run, test_main

SPEC = """\
name = "plot_moments"
description = "a square network's Jacobian spectrum: orthogonal tanh and He ReLU"
seed = [1, 2]
zip = [["init.scheme", "init.bias", "model.activation"]]

[data]
kind = "teacher"
features = 16
hidden = 0
outputs = 16
train = 64
test = 0
noise = 0.0
standardize = true

[init]
scheme = ["orthogonal(gain=1.015164)", "he_normal"]
bias = ["normal(stddev=0.002157)", "zeros"]

[model]
activation = ["tanh", "relu"]
depth = [1, 4]
width = 16
output = "linear"
precision = "double"

[train]
steps = 0

[probes]
every = 1
jacobian = true
jacobian_samples = 2
"""
LABELS = ("tanh, orthogonal(gain=1.015164)", "relu, he_normal")
DEPTHS = (1, 4)
NAME = "jacobian_moments.png"


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def measured(folder):
    """{(scheme, depth): (mean m1, mean variance)} over the Jacobians at step 0."""
    runs = {r["run_id"]: r for r in read_csv(os.path.join(folder, "runs.csv"))}
    values = defaultdict(list)
    for r in read_csv(os.path.join(folder, "jacobian.csv")):
        if r["step"] == "0":
            values[(r["run_id"], r["sample"])].append(float(r["singular_value"]))
    per = defaultdict(list)
    for (run_id, _), s in values.items():
        sq = [v * v for v in s]
        m1 = sum(sq) / len(sq)
        per[(runs[run_id]["init.scheme"], int(runs[run_id]["depth"]))].append(
            (m1, sum(v * v for v in sq) / len(sq) - m1 * m1))
    return {k: (sum(m for m, _ in v) / len(v), sum(x for _, x in v) / len(v))
            for k, v in per.items()}, runs


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def check_figure(fig, folder):
    want, runs = measured(folder)
    check(len(want) == len(LABELS) * len(DEPTHS), f"jacobian.csv: settings {sorted(want)}")
    axes = [ax for ax in fig.axes if ax.axison]
    check(len(axes) == 2, f"{NAME}: {len(axes)} panels, expected 2 (variance, mean)")
    for ax, what in zip(axes, (1, 0)):  # left: variance (index 1), right: m1 (index 0)
        check(ax.get_xscale() == "log" and ax.get_yscale() == "log",
              f"{NAME}: '{ax.get_title()}' is not log-log")
        lines = [l for l in ax.get_lines() if l.get_marker() == "o"]
        check(len(lines) == len(LABELS), f"{NAME}: '{ax.get_title()}': {len(lines)} measured "
                                         f"lines, expected {len(LABELS)}")
        found = set()
        for line in lines:
            xs = [int(x) for x in line.get_xdata()]
            check(xs == list(DEPTHS), f"{NAME}: a line over depths {xs}, expected {DEPTHS}")
            ys = list(line.get_ydata())
            for scheme in ("orthogonal(gain=1.015164)", "he_normal"):
                if all(close(y, want[(scheme, d)][what]) for y, d in zip(ys, DEPTHS)):
                    found.add(scheme)
        check(len(found) == len(LABELS), f"{NAME}: '{ax.get_title()}': the measured lines "
                                         f"match only {sorted(found)} of the values computed "
                                         f"here")
    sw2 = float(next(r for r in runs.values() if r["init.scheme"] == "he_normal")["sigma_w2"])
    m1 = [sw2 * (sw2 / 2) ** d for d in DEPTHS]
    theory = {0: m1, 1: [m * m * (2 * d + 1) for m, d in zip(m1, DEPTHS)]}
    for ax, what in zip(axes, (1, 0)):
        dashed = [list(l.get_ydata()) for l in ax.get_lines() if l.get_linestyle() == "--"]
        check(any(all(close(y, t) for y, t in zip(ys, theory[what])) for ys in dashed),
              f"{NAME}: '{ax.get_title()}': no dashed line at the ReLU prediction "
              f"{theory[what]} ({dashed})")
    texts = figure_texts(fig)
    for label in LABELS:
        check(any(t.startswith(label) for t in texts), f"{NAME}: no legend entry '{label}...'")
    print(f"  {NAME}: 2 log-log panels, {len(LABELS)} measured lines matching jacobian.csv, "
          f"the ReLU prediction dashed, the zip labels in the legend")
    return want


def check_table(source, folder, want):
    r = run([sys.executable, os.path.join(source, "scripts", "jacobian_moments.py"), folder])
    check(r.returncode == 0, f"jacobian_moments.py: exit {r.returncode}\n{r.stderr}")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    check(len(rows) == len(want), f"jacobian_moments.py: {len(rows)} rows, expected {len(want)}")
    for row in rows:
        m1 = want[(row["scheme"], int(row["depth"]))][0]
        check(math.isclose(float(row["m1"]), m1, rel_tol=1e-3),
              f"jacobian_moments.py: m1 {row['m1']} for {row['scheme']}, depth {row['depth']}; "
              f"computed here {m1:.6g}")
        check(row["jacobians"] == "4", f"jacobian_moments.py: {row['jacobians']} Jacobians per "
                                       f"row, expected 2 seeds x 2 samples")
    print(f"  jacobian_moments.py: {len(rows)} rows, m1 as computed here")


def check_skipped(source, folder, work, name, edit, reason, noted=True):
    """A copy of folder (with its plots) edited by edit: the figure skipped with reason (noted:
    in a note; else without one, as a figure that does not apply), the stale PNG removed, the
    table command failing with one line."""
    copy = os.path.join(work, name)
    shutil.copytree(folder, copy)
    edit(copy)
    r = plot_script(source, copy)
    check(r.returncode == 0, f"plot.py {name}: exit {r.returncode}\n{r.stderr}")
    check((f"skip {NAME}: {reason}" in r.stdout) == noted,
          f"plot.py {name}: {'no' if noted else 'a'} note 'skip {NAME}: {reason}'\n{r.stdout}")
    check(not os.path.exists(os.path.join(copy, "plots", NAME)),
          f"plot.py {name}: {NAME} is still there")
    r = run([sys.executable, os.path.join(source, "scripts", "jacobian_moments.py"), copy])
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and reason in r.stderr,
          f"jacobian_moments.py {name}: exit {r.returncode}, stderr {r.stderr!r}")
    print(f"  {name}: skipped {'with' if noted else 'without a note,'} '{reason}', the stale PNG "
          f"removed")


def rewrite_runs(folder, edit):
    path = os.path.join(folder, "runs.csv")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(edit(rows))


def drop_q_star(folder):
    def edit(rows):
        i = rows[0].index("q_star")
        return [r[:i] + r[i + 1:] for r in rows]
    rewrite_runs(folder, edit)


def widen_inputs(folder):
    def edit(rows):
        i = rows[0].index("layers")
        return [rows[0]] + [r[:i] + ["17" + r[i][r[i].index("-"):]] + r[i + 1:]
                            for r in rows[1:]]
    rewrite_runs(folder, edit)


def body(arguments, work):
    initbench, source = (os.path.abspath(a) for a in arguments)
    sys.path.insert(0, os.path.join(source, "python"))
    from initbench.plot import setup_matplotlib
    setup_matplotlib()
    spec = os.path.join(work, "moments.toml")
    with open(spec, "w") as f:
        f.write(SPEC)
    out = os.path.join(work, "out")
    r = run([initbench, "run", spec, "--out", out, "--threads", "2", "--no-plot"], timeout=600)
    check(r.returncode == 0, f"initbench run: exit {r.returncode}\n{r.stderr}")
    folder = os.path.join(out, "plot_moments")
    print("plot_moments (square J, 2 settings x 2 depths):")
    figures, stdout = draw_figures(folder)
    check(NAME in figures and os.path.isfile(os.path.join(folder, "plots", NAME)),
          f"plot.py: {NAME} was not drawn\n{stdout}")
    want = check_figure(figures[NAME], folder)
    check_table(source, folder, want)
    check_skipped(source, folder, work, "no_jacobian",
                  lambda d: os.remove(os.path.join(d, "jacobian.csv")), "no jacobian.csv")
    check_skipped(source, folder, work, "no_q_star", drop_q_star,
                  "runs.csv has no q_star column")
    check_skipped(source, folder, work, "not_square", widen_inputs, "J is not square", noted=False)


if __name__ == "__main__":
    sys.exit(test_main(__doc__, 2, "initbench-plot-moments-", body))
