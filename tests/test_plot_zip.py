#!/usr/bin/python3
"""ctest: a spec's zip group is one axis of the figures.

Usage: /usr/bin/python3 tests/test_plot_zip.py INITBENCH SOURCE_DIR

Runs the initbench binary on a small grid written here: a zip group of (init.scheme, init.bias,
model.activation) with three tuples, crossed with model.depth (1, 2, 3) and train.lr (0.05, 0.2),
18 settings, and checks what initbench.plot draws (the Figure objects):
- the zip labels: the activation and the scheme, the bias left out (implied), the long
  variance_scaling string shortened (axes.zip_labels);
- curves.png: a loss and an accuracy panel per (zip tuple, learning rate), no empty panel, rows by
  zip tuple in grid order, columns by learning rate, the three depths as lines in every panel,
  the figure title naming the zip axis; no title names a value of a single zipped key alone;
- steps_to_target.png: one row per setting, labelled with the zip label, depth and lr;
- every figure: no text runs off the figure's left or right edge and no panel title is wider
  than its panel;
- without spec.toml (zip unknown) the keys are crossed axes again (a different layout), so the
  checks above see the zip handling, not a coincidence.
Exits 77 (ctest SKIP_RETURN_CODE) when numpy, pandas or matplotlib is missing.
"""

import os
import sys

from plot_support import check, draw_figures, figure_texts, run, test_main

SPEC = """\
name = "plot_zip"
description = "a zip group of scheme, bias and activation, crossed with depth and lr"
seed = [1]
zip = [["init.scheme", "init.bias", "model.activation"]]

[data]
kind = "circles"
train = 64
test = 32

[model]
activation = ["tanh", "tanh", "relu"]
depth = [1, 2, 3]
width = 8
output = "sigmoid"
precision = "double"

[init]
scheme = ["glorot_normal",
          "variance_scaling(scale=1.5, mode=fan_in, distribution=untruncated_normal)",
          "he_normal"]
bias = ["zeros", "normal(stddev=0.1)", "zeros"]

[train]
lr = [0.05, 0.2]
steps = 40
eval_every = 10
target_accuracy = 0.6
"""
ZIP_LABELS = ["tanh, glorot_normal", "tanh, variance_scaling(scale=1.5, ...)", "relu, he_normal"]
LRS = ["lr=0.05", "lr=0.2"]
DEPTHS = [1, 2, 3]


def draw(folder):
    return draw_figures(folder)[0]


def grid_axes(fig):
    """(row, column, axes, visible) of every axes of fig laid out on its grid (not colour bars)."""
    out = []
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is not None:
            out.append((spec.rowspan.start, spec.colspan.start, ax, ax.axison))
    return out


def check_curves(fig):
    grid = grid_axes(fig)
    hidden = [(r, c) for r, c, _, on in grid if not on]
    check(not hidden, f"curves.png: empty panels at {hidden}")
    expected = sorted([f"{z}, {lr}" for z in ZIP_LABELS for lr in LRS] * 2)
    titles = sorted(ax.get_title() for _, _, ax, _ in grid)
    check(titles == expected, f"curves.png: panel titles {titles}, expected a loss and an "
                              f"accuracy panel per (zip tuple, lr): {expected}")
    for r, c, ax, _ in grid:
        z, lr = ax.get_title().rsplit(", ", 1)
        check((r // 2, c) == (ZIP_LABELS.index(z), LRS.index(lr)),
              f"curves.png: panel '{ax.get_title()}' at row {r}, column {c}: rows should follow "
              f"the zip tuples in grid order, columns the learning rate")
        colours = {str(l.get_color()) for l in ax.get_lines()
                   if len(l.get_xdata()) > 1 and l.get_linestyle() == "-"}  # train lines
        check(len(colours) == len(DEPTHS), f"curves.png: panel '{ax.get_title()}' has "
                                           f"{len(colours)} line colours, expected one per depth")
    texts = figure_texts(fig)
    for d in DEPTHS:
        check(f"depth={d}" in texts, f"curves.png: no legend entry 'depth={d}'")
    check(any("rows: model.activation + init.scheme" in t for t in texts),
          f"curves.png: the title does not name the zip axis: {fig._suptitle.get_text()!r}")
    bias = [t for t in texts if "stddev" in t]
    check(not bias, f"curves.png: the implied bias is shown: {bias}")
    print(f"  curves.png: {len(grid)} panels, every one drawn, rows = the 3 zip tuples x metric, "
          f"columns = lr, 3 depth lines each")


def check_steps_to_target(fig, n_settings):
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    check(len(labels) == n_settings, f"steps_to_target.png: {len(labels)} rows, expected "
                                     f"{n_settings}")
    expected = {f"{z}, depth={d}, {lr}" for z in ZIP_LABELS for d in DEPTHS for lr in LRS}
    check(set(labels) == expected, f"steps_to_target.png: row labels {sorted(labels)}, expected "
                                   f"{sorted(expected)}")
    print(f"  steps_to_target.png: {len(labels)} rows labelled 'zip label, depth, lr'")


def check_nothing_cut(name, fig):
    """No drawn text outside the figure's width; no panel title wider than its panel."""
    renderer = fig.canvas.get_renderer()
    width = fig.get_size_inches()[0]
    box = fig.get_tightbbox(renderer)
    check(box.x0 >= -0.01 and box.x1 <= width + 0.01,
          f"{name}: drawn text spans x = {box.x0:.2f}..{box.x1:.2f} in, the figure is "
          f"{width:.2f} in wide (labels cut off)")
    for _, _, ax, on in grid_axes(fig):
        if on and ax.get_title():
            title = ax.title.get_window_extent(renderer).width
            panel = ax.get_window_extent(renderer).width
            check(title <= panel + 1, f"{name}: the title '{ax.get_title()}' is {title:.0f} px "
                                      f"wide, its panel {panel:.0f} px")


def body(arguments, work):
    initbench, source = (os.path.abspath(a) for a in arguments)
    sys.path.insert(0, os.path.join(source, "python"))
    from initbench.plot import setup_matplotlib
    from initbench.plot.axes import zip_labels
    setup_matplotlib()

    labels, named = zip_labels(
        ["init.scheme", "init.bias", "model.activation"],
        [("glorot_normal", "zeros", "tanh"),
         ("variance_scaling(scale=1.5, mode=fan_in, distribution=untruncated_normal)",
          "normal(stddev=0.1)", "tanh"),
         ("he_normal", "zeros", "relu")])
    check(labels == ZIP_LABELS and named == ["model.activation", "init.scheme"],
          f"zip_labels: {labels}, naming {named}")
    labels, named = zip_labels(["model.depth", "train.lr"], [("10", "0.01"), ("20", "0.01")])
    check(labels == ["depth=10", "depth=20"] and named == ["model.depth"],
          f"zip_labels without the constant lr: {labels}, naming {named}")
    print("zip_labels: the implied and constant keys left out, the long scheme shortened")

    # A zip whose tuples are the full product of some keys (the rest following from them) stays
    # crossed axes: glorot2010's activation x depth x scheme, each with its own rate.
    from initbench.plot.experiment import _crossed
    product = [(a, d, s, f"{a}{d}{s}") for a in ("tanh", "sigmoid") for d in ("1", "2", "3")
               for s in ("standard", "normalized")]
    check(_crossed(product), "_crossed: a full product with a dependent rate is not crossed")
    check(not _crossed(product[:-1]), "_crossed: a product missing one tuple is crossed")
    check(not _crossed([("glorot_normal", "zeros", "tanh"), ("he_normal", "zeros", "relu"),
                        ("orthogonal", "zeros", "tanh")]),
          "_crossed: tuples determined by one key are crossed")
    print("_crossed: full products stay crossed axes, other zips become one axis")

    spec = os.path.join(work, "zip.toml")
    with open(spec, "w") as f:
        f.write(SPEC)
    r = run([initbench, "run", spec, "--out", work, "--threads", "2", "--no-plot"], timeout=600)
    check(r.returncode == 0, f"initbench run: exit {r.returncode}\n{r.stderr}")
    folder = os.path.join(work, "plot_zip")
    print("plot_zip (3 zip tuples x 3 depths x 2 lr):")
    figures = draw(folder)
    for name in ("curves.png", "steps_to_target.png"):
        check(name in figures, f"plot_zip: {name} was not drawn ({sorted(figures)})")
    check_curves(figures["curves.png"])
    check_steps_to_target(figures["steps_to_target.png"], 18)
    for name, fig in sorted(figures.items()):
        check_nothing_cut(name, fig)
    print(f"  {len(figures)} figures: no label cut off, no panel title wider than its panel")

    os.remove(os.path.join(folder, "spec.toml"))  # the zip unknown: crossed axes again
    titles = {ax.get_title() for _, _, ax, on in grid_axes(draw(folder)["curves.png"]) if on}
    check(not titles & {f"{z}, {lr}" for z in ZIP_LABELS for lr in LRS},
          f"plot_zip without spec.toml: still the zip panels {sorted(titles)}")
    print("  without spec.toml the zipped keys are crossed axes (other panels)")


if __name__ == "__main__":
    sys.exit(test_main(__doc__, 2, "initbench-plot-zip-", body))
