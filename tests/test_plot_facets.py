#!/usr/bin/python3
"""ctest: what the figures show, read off the matplotlib figures themselves.

Usage: /usr/bin/python3 tests/test_plot_facets.py INITBENCH SOURCE_DIR

Runs the initbench binary on a small grid written here, activation (tanh, sigmoid, relu) x depth
(1, 2, 3) x scheme (zeros, glorot_uniform), 18 settings with every probe on, draws its figures
through initbench.plot.plot (which hands back the Figure objects) and checks:
- small multiples: curves.png has one panel per (activation, scheme) pair and metric, titled
  "tanh, zeros", in rows by activation and columns by scheme, each with the three depths as
  lines; layers.png and symmetry.png have the same titles; every line keeps its depth's colour;
- zeros on log axes: the zero-initialised network's gradient norms (layers.png) and Jacobian
  singular values (jacobian.png) are marked at the axis' floor with the floor marker, and the
  legend says "0, drawn at the floor"; no figure says "not drawn";
- the symmetry counts (distinct neurons) are on a linear axis from 0 that shows 1 and the width;
- the hidden layers' histogram panels share one x range across layers and rows, the output
  layer's panels another, and the rows are the deepest setting of each (activation, scheme);
- plotted twice (another hash seed), the PNG files are byte-identical;
- with the grid cut to two settings (--set), the figures are single panels again.
Exits 77 (ctest SKIP_RETURN_CODE) when numpy, pandas or matplotlib is missing.
"""

import os
import shutil
import sys
import tempfile

from plot_support import SKIP, Failure, check, check_replots_identically, missing_plot_dependency
from plot_support import draw_figures, figure_texts
from plot_support import run as run_command
ACTIVATIONS = ("tanh", "sigmoid", "relu")
SCHEMES = ("zeros", "glorot_uniform")
DEPTHS = (1, 2, 3)
WIDTH = 8

SPEC = """\
name = "plot_facets"
description = "small multiples: activation x depth x scheme, zeros among the schemes"
seed = [1, 2]

[data]
kind = "circles"
train = 64
test = 32

[model]
activation = ["tanh", "sigmoid", "relu"]
depth = [1, 2, 3]
width = 8
output = "sigmoid"
precision = "double"

[init]
scheme = ["zeros", "glorot_uniform"]

[train]
lr = 0.05
steps = 40
eval_every = 10

[probes]
every = 20
histograms = true
symmetry = true
jacobian = true
"""


def run(cmd):
    return run_command(cmd, timeout=600)


def draw(folder):
    """Every figure of folder: {name: Figure} (the PNGs are written too)."""
    return draw_figures(folder)[0]


def panels(fig):
    """The visible axes of fig with their (row, column) in its grid."""
    out = []
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if ax.axison and spec is not None:
            out.append((spec.rowspan.start, spec.colspan.start, ax))
    return out


def floor_marks(ax):
    from initbench.plot.style import ZERO_GID
    return [l for l in ax.get_lines() if l.get_gid() == ZERO_GID]


def check_curves(fig):
    expected = {f"{a}, {s}" for a in ACTIVATIONS for s in SCHEMES}
    grid = panels(fig)
    titles = [ax.get_title() for _, _, ax in grid]
    check(sorted(titles) == sorted(list(expected) * 2),
          f"curves.png: panel titles {sorted(titles)}, expected a loss and an accuracy panel "
          f"for each of {sorted(expected)}")
    for r, c, ax in grid:
        a, s = ax.get_title().split(", ")
        check((ACTIVATIONS.index(a), SCHEMES.index(s)) == (r // 2, c),
              f"curves.png: panel '{ax.get_title()}' at row {r}, column {c}: rows should follow "
              f"the activation, columns the scheme")
        colours = {str(l.get_color()) for l in ax.get_lines()
                   if len(l.get_xdata()) > 1 and l.get_linestyle() == "-"}
        check(len(colours) == len(DEPTHS),
              f"curves.png: panel '{ax.get_title()}' (row {r}) has {len(colours)} train line "
              f"colours, expected one per depth ({len(DEPTHS)})")
    legend = figure_texts(fig)
    for d in DEPTHS:
        check(f"depth={d}" in legend, f"curves.png: no legend entry 'depth={d}'")
    print(f"  curves.png: {len(grid)} panels, rows activation x metric, columns scheme, "
          f"{len(DEPTHS)} depth lines each")


def check_layers(fig):
    from initbench.plot.style import ZERO_LABEL
    grid = panels(fig)
    titles = {ax.get_title().rsplit(", step", 1)[0] for _, _, ax in grid}
    expected = {f"{a}, {s}" for a in ACTIVATIONS for s in SCHEMES}
    check(titles == expected, f"layers.png: panels {sorted(titles)}, expected {sorted(expected)}")
    marked = [ax for _, _, ax in grid if ", zeros, step" in ax.get_title()
              and ax.get_yscale() == "log" and floor_marks(ax)]
    check(marked, "layers.png: no zeros-scheme panel on a log axis marks its zeros at the floor")
    for ax in marked:
        for line in floor_marks(ax):
            check(list(line.get_ydata()) == [0.0] * len(line.get_ydata()),
                  f"layers.png: '{ax.get_title()}': floor marks not at the axis' bottom")
    for r, c, ax in grid:
        if ax.get_yscale() == "log" and ", glorot_uniform" in ax.get_title() and \
                ax.get_ylabel().startswith("std"):
            check(not floor_marks(ax), f"layers.png: '{ax.get_title()}' marks zeros the "
                                       f"glorot_uniform runs do not have")
    check(ZERO_LABEL in figure_texts(fig), f"layers.png: the legend lacks '{ZERO_LABEL}'")
    print(f"  layers.png: {len(marked)} log panels of the zeros scheme mark 0 at the floor")


def check_jacobian(fig):
    grid = panels(fig)
    zeros = [ax for _, _, ax in grid if ", zeros, step" in ax.get_title()]
    check(zeros, "jacobian.png: no panel of the zeros scheme")
    for ax in zeros:
        check(ax.get_xscale() == "log" and floor_marks(ax),
              f"jacobian.png: '{ax.get_title()}': the zero singular values are not marked at "
              f"the floor of the log axis")
    check(any("drawn at the floor" in t for t in figure_texts(fig)),
          "jacobian.png: no legend entry for the floor marks")
    print(f"  jacobian.png: {len(zeros)} zeros-scheme panels mark their zero singular values")


def check_symmetry(fig):
    grid = panels(fig)
    rows = {}
    for r, c, ax in grid:
        rows.setdefault(r, []).append(ax)
    distinct = [ax for r, axs in rows.items() for ax in axs
                if any("distinct neurons" in a.get_ylabel() for a in axs)]
    check(len(distinct) == len(ACTIVATIONS) * len(SCHEMES),
          f"symmetry.png: {len(distinct)} distinct-neuron panels, expected "
          f"{len(ACTIVATIONS) * len(SCHEMES)}")
    for ax in distinct:
        lo, hi = ax.get_ylim()
        check(ax.get_yscale() == "linear", f"symmetry.png: '{ax.get_title()}': distinct "
                                           f"neurons on a {ax.get_yscale()} axis")
        check(lo <= 0 and hi >= WIDTH, f"symmetry.png: '{ax.get_title()}': y range {lo}..{hi} "
                                       f"does not show 0..{WIDTH}")
    for ax in distinct:
        if ", zeros" in ax.get_title():
            ys = {float(y) for l in ax.get_lines() if len(l.get_xdata()) > 1
                  and l.get_color() != "0.4" for y in l.get_ydata()}
            check(ys == {1.0}, f"symmetry.png: '{ax.get_title()}': zeros should keep 1 "
                               f"distinct neuron, lines at {sorted(ys)}")
    print(f"  symmetry.png: {len(distinct)} distinct-neuron panels on linear axes 0..{WIDTH}+")


def check_histograms(name, fig):
    grid = panels(fig)
    n_cols = max(c for _, c, _ in grid) + 1
    check(n_cols == max(DEPTHS) + 1, f"{name}: {n_cols} layer columns, expected "
                                     f"{max(DEPTHS) + 1}")
    for what, cols in (("hidden-layer", range(n_cols - 1)), ("output-layer", [n_cols - 1])):
        xlims = {tuple(round(v, 12) for v in ax.get_xlim()) for _, c, ax in grid if c in cols}
        check(len(xlims) == 1, f"{name}: the {what} panels have {len(xlims)} x ranges: "
                               f"{sorted(xlims)}")
    n_rows = len({r for r, _, _ in grid})
    check(n_rows == len(ACTIVATIONS) * len(SCHEMES),
          f"{name}: {n_rows} rows, expected one per (activation, scheme)")
    labels = [ax.get_ylabel() for r, c, ax in grid if c == 0]
    check(all(f"depth={max(DEPTHS)}" in l for l in labels),
          f"{name}: the rows should be the deepest settings: {labels}")
    print(f"  {name}: {len(grid)} panels, the hidden layers' sharing one x range, the output "
          f"layer's another")


def check_deterministic(folder):
    count = check_replots_identically(SOURCE, folder, "777", timeout=600)
    print(f"  {count} PNGs byte-identical when plotted again")


def main():
    global SOURCE
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    skip = missing_plot_dependency()
    if skip:
        print(skip)
        return SKIP
    initbench, SOURCE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    sys.path.insert(0, os.path.join(SOURCE, "python"))
    from initbench.plot import setup_matplotlib
    setup_matplotlib()
    work = tempfile.mkdtemp(prefix="initbench-plot-facets-")
    try:
        spec = os.path.join(work, "facets.toml")
        with open(spec, "w") as f:
            f.write(SPEC)
        r = run([initbench, "run", spec, "--out", work, "--threads", "2", "--no-plot"])
        check(r.returncode == 0, f"initbench run: exit {r.returncode}\n{r.stderr}")
        folder = os.path.join(work, "plot_facets")
        print("plot_facets (18 settings):")
        figures = draw(folder)
        for name in ("curves.png", "layers.png", "symmetry.png", "jacobian.png",
                     "hist_activation.png", "hist_delta.png"):
            check(name in figures, f"plot_facets: {name} was not drawn ({sorted(figures)})")
        for name, fig in figures.items():
            bad = [t for t in figure_texts(fig) if "not drawn" in t]
            check(not bad, f"{name}: says {bad}")
        check_curves(figures["curves.png"])
        check_layers(figures["layers.png"])
        check_jacobian(figures["jacobian.png"])
        check_symmetry(figures["symmetry.png"])
        check_histograms("hist_activation.png", figures["hist_activation.png"])
        check_histograms("hist_delta.png", figures["hist_delta.png"])
        check_deterministic(folder)

        small = os.path.join(work, "small")
        r = run([initbench, "run", spec, "--out", small, "--threads", "2", "--no-plot",
                 "--set", "model.activation=tanh", "--set", "model.depth=2"])
        check(r.returncode == 0, f"initbench run (2 settings): exit {r.returncode}\n{r.stderr}")
        print("plot_facets cut to 2 settings:")
        figures = draw(os.path.join(small, "plot_facets"))
        titles = sorted(ax.get_title() for _, _, ax in panels(figures["curves.png"]))
        check(titles == ["test accuracy", "test loss", "train accuracy", "train loss"],
              f"curves.png with 2 settings: panels {titles}, expected the four metrics")
        sym = [ax for _, _, ax in panels(figures["symmetry.png"])
               if "distinct neurons" in ax.get_ylabel()]
        check(sym and all(ax.get_yscale() == "linear" for ax in sym),
              "symmetry.png with 2 settings: distinct neurons not on a linear axis")
        print("  curves.png: the four metric panels; symmetry.png: linear count axis")
    except Failure as e:
        print(f"FAIL: {e}")
        print(f"(work folder kept: {work})")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
