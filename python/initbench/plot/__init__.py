"""Plot an initbench experiment folder: DIR/*.csv -> DIR/plots/*.png.

Usage: /usr/bin/python3 scripts/plot.py DIR     (or --help)
       /usr/bin/python3 -m initbench.plot DIR   (python/ on PYTHONPATH, or installed)

Reads the CSV reports `initbench run` writes (docs/csv.md) and draws the figures the course and
the papers show, whichever the data allows. One line is printed per figure written
("wrote DIR/plots/NAME.png") and one per figure skipped ("note: ..."). Figures, one module of
this package each:

  curves.png           (curves) train/test loss and accuracy over steps per setting: mean over
                       seeds, band min..max over seeds, log loss axis when the loss spans a decade
                       or more, diverged runs marked x at the step they stopped (the blown-up
                       value of that last evaluation is not averaged in), the target dotted.
                       Small multiples: a loss and an accuracy row per row value, train solid,
                       test dashed.
  layers.png           (layers) Glorot & Bengio (2010) style profiles across layers l = 1..L at
                       step 0 and up to three later probe steps: std of the pre-activation z_l
                       with the C++ side's mean-field prediction sqrt(meanfield_preact_var,
                       layers.csv) beside it, std of the activation a_l, and the back-propagated
                       gradient norm ||dL/dz_l||. Small multiples: each quantity a row per row
                       value, each column value a column per step (step 0 and the last probe
                       step, or step 0 alone past 40 panels); a row of panels shares y.
  hist_activation.png  (histograms) per-layer histograms of a_l (one panel per layer, one row per
  hist_delta.png       setting; the first run of the setting), step 0 and the last histogram step
                       overlaid; likewise for dL/dz_l (log count axis). The hidden layers'
                       panels share one x range (the bins holding entries, over layers and rows;
                       a row over 10x wider than the median row keeps its own), so vanishing
                       values show as a narrow spike (a note gives its range); the output
                       layer's panels share another. Past 8 settings, one row per panel of the
                       small multiples: its deepest setting.
  saturated.png        (fractions) saturated fraction (tanh |a| > 0.99, ...) of each hidden layer
                       over steps, one panel per setting (past 16 settings smaller panels, a row
                       per panel of the small multiples and a column per line value).
  dead.png             (fractions) dead-unit fraction of each ReLU hidden layer over steps.
  symmetry.png         (symmetry) distinct neurons (a linear axis from 0 to the width), mean
                       |cosine| between neurons and effective rank of the activations per hidden
                       layer over steps. Small multiples: each quantity a row per row value, a
                       column per column value, the hidden layers as line styles.
  jacobian.png         (jacobian) singular values of the input-output Jacobian dz_L/dx
                       (Pennington et al. 2017): histogram on a log axis and the sorted spectrum
                       s_k, at step 0 and at the last Jacobian step. Small multiples: the
                       histograms, a row per row value, a column per column value and step.
  layer_jacobian.png   (layer_jacobian) the mean singular value of each hidden layer's own
                       Jacobian D_l W_l against l (Glorot & Bengio 2010), at step 0 (solid) and
                       the last step of layer_jacobian.csv (dashed), a dotted line at 1. Small
                       multiples: a panel per (row, column) value pair.
  heatmap.png          (heatmap) two-axis grids: any two numeric grid axes besides seed (e.g. a
                       sw2 axis x model.depth), colour = mean final train / test accuracy over
                       seeds (final train loss for linear outputs). Other varying axes make one
                       row each.
  steps_to_target.png  (steps_to_target) steps to the train target per setting: mean over the
                       runs that reached it, whiskers min..max, one dot per run, reached/total.
  scale.png            (scale) weight-scale sweeps (an init.scale axis with 3 or more values):
                       against init.scale, the step-0 ratio ||dL/dz_1|| / ||dL/dz_L||, the step-0
                       saturated fraction (mean over hidden layers) and the final train accuracy,
                       one line per combination of the other axes.
  correlation.png      (correlation) the correlation c_l between two inputs' pre-activations
                       across layers at step 0 (correlation.csv), per line of the grid axes other
                       than seed, depth and train.* (deepest runs), against Poole et al. 2016's
                       mean-field correlation map (tanh): c_l, its fixed point c* and the decay
                       of |c_l - c*| (Schoenholz et al. 2017's depth scale xi_c); c_l after
                       training when the file has a later step.
  length_variance.png  (length_variance) the variance over seeds of ln(q_l / q_0), the log
                       squared length of a ReLU net's signal relative to its input
                       (correlation.csv at step 0), against beta = sum of 1 / n_l over the
                       hidden layers, with the least-squares line, Hanin & Rolnick's first-order
                       5 beta and the exact finite-width values; every layer's against its own
                       beta_l. Only with relu units and at least 20 seeds per setting.
  jacobian_moments.png (jacobian_moments) the mean and the variance of the spectrum of J J^T
                       (J = dz_L/dx, jacobian.csv at step 0; per Jacobian, then the mean over
                       seeds and probe samples) against depth, log-log, a line per setting,
                       free probability's prediction on the critical line dashed in the same
                       colour (Pennington et al. 2017). Only when runs.csv has sigma_w2, q_star
                       and depth and J is square; scripts/jacobian_moments.py prints its table.
  modes.png            (modes) a linear net's learned strength on each singular mode of a linear
                       teacher over its singular value, a_i / s_i, against the step (modes.csv;
                       Saxe et al. 2014): a colour per mode, a thin line per seed, a panel per
                       setting, a dotted line at 1/2 (the learning time).
  mode_times.png       (mode_times) each mode's learning time (a_i / s_i first at 1/2,
                       interpolated between probes) against 1/s_i on log axes: a dot per run and
                       mode, the mean over seeds per setting, dashed guides of slope 1, each
                       setting's fitted slope in the legend.
  coord_check.png      (coord_check) mean |coordinate| against width per step, a panel per layer
                       type and a row per parametrization and optimizer (coord_check.csv)
  lr_transfer.png      (lr_transfer) final training loss against log2 lr, a line per width, a
                       panel per parametrization, when train.lr and model.width vary (runs.csv)
  stream.png           (stream) a residual net's stream, the RMS of x_b against the block on a
                       log axis (stream.csv): a colour per scheme, a thin line per seed, a panel
                       per value of the other varying grid axes (e.g. the depth), the first and
                       the last probed step; an overflowing stream ends at its last finite block
                       with a cross.

Settings are the rows of summary.csv: runs sharing every grid axis but seed, in grid order. Up to
8 settings, a line figure draws one line per setting in each panel. Past 8 (and with two or more
varying grid axes besides seed) it draws small multiples (facets.py): two grid axes lay out the
panels in rows and columns, the axes whose values are not numbers first in grid order, then the
numeric ones with the fewest values (the longer of the two down the rows when the columns would
be more than 4), and the other axes make the lines of each panel, coloured the same in every
panel (glorot2010's 30 settings: rows = model.activation, columns = init.scheme, 5 depth lines
per panel). With two varying axes, one lays out the panels alone, wrapped into rows past 4.
Panels are titled with their row and column values, the figure title names the axes.
A zip group of the spec (zip = [["init.scheme", "model.activation", ...]], docs/spec.md) is one
axis whose values are its tuples, labelled by the keys that tell them apart (constant and implied
keys left out, long scheme strings shortened: "tanh, variance_scaling(scale=1.030558, ...)") and
named by them ("model.activation + init.scheme"); axes.zip_labels says how. A figure is widened
until no label is cut off at its edges and no panel title is wider than its panel. At most 8
rows, 8 columns and 12 lines per panel (evenly spaced); a figure that cannot show every setting
says so in a note. Histograms show at most 8 rows and 8 layers; per-layer panels at most 4
hidden layers; saturation and dead panels at most 10 layers per panel and 36 panels.

A value of exactly 0 on a log axis (the gradient norms of a zero-initialised network, a ratio
that underflows, a zero singular value, a run at its target from step 0) is drawn at the axis'
floor with a hollow square, and the legend says "0, drawn at the floor (log axis)"; nothing is
left out silently. layers.png also marks values more than 10 decades below its row's largest
value with a triangle at the floor.

The 6 xi_c curve (Schoenholz et al. 2017) is drawn on a heatmap when every run of the panel has
tanh hidden units, the y axis is model.depth and the x axis is an init.scale axis or a scheme
axis whose strings differ only in one numeric parameter (variance_scaling(scale=SW2, ...)). The
theory comes from runs.csv, as the C++ side computed it per run: xi_c, sigma_w2 and sigma_b2 at
every x value that has runs; only between those points (and half a cell beyond the ends) is
xi_c computed here, by quadrature from an interpolated sigma_w2 (meanfield.py says how). A panel
whose runs lack those columns or disagree on them skips the overlay with a note.

Every figure carries the experiment name and the initbench version (meta.json, else "unknown")
in its lower right corner (not the git commit: a rerun at a later commit that gives the same
CSV files gives the same PNGs, so `make reproduce` leaves committed figures unchanged).
Figures are deterministic (style.py): fixed dpi, matplotlib's default style (no user
matplotlibrc), no metadata in the PNG, so the same CSV files give byte-identical PNGs.

Required: runs.csv, summary.csv, curves.csv. Optional (the figure is skipped when the file is
missing or has only its header, with a note when the spec asked for the figure: its probe is on,
or for the grid figures a target, an init.scale axis, two numeric axes; asked.py): layers.csv,
histograms.csv, symmetry.csv, jacobian.csv, correlation.csv, layer_jacobian.csv, modes.csv,
stream.csv, coord_check.csv, spec.toml, meta.json. A missing
required file, a missing column, a row with the wrong number of fields or a value that is not a
number stops the script with one line naming the file (and the line and column) before any figure
is drawn (experiment.py, initbench.tables). PNGs of ours that the data no longer allows are
removed from DIR/plots/.

Exit status: 0 figures written; 1 bad or missing data; 2 usage; 3 numpy, pandas or matplotlib
missing. Needs Debian's python3-numpy, python3-pandas and python3-matplotlib (run with
/usr/bin/python3).
"""

import argparse
import os
import sys

USAGE = ("Usage: /usr/bin/python3 scripts/plot.py DIR     (or --help)\n"
         "       /usr/bin/python3 -m initbench.plot DIR   (python/ on PYTHONPATH, or installed)")
FIGURES = ("curves.png", "layers.png", "hist_activation.png", "hist_delta.png", "saturated.png",
           "dead.png", "symmetry.png", "jacobian.png", "layer_jacobian.png", "heatmap.png",
           "steps_to_target.png", "scale.png", "correlation.png", "length_variance.png",
           "jacobian_moments.png", "modes.png", "mode_times.png", "stream.png", "coord_check.png",
           "lr_transfer.png")


def _jobs():
    """(figure, draw function, extra arguments, asked) in the order the figures are drawn;
    asked(exp): whether the spec asks for the figure (asked.py), so that a figure it asked for
    but that could not be drawn is noted and the others are skipped silently."""
    from . import correlation, curves, fractions, heatmap, histograms, jacobian, jacobian_moments
    from . import layer_jacobian, layers, length_variance, mode_times, modes, scale
    from . import steps_to_target, stream, symmetry, coord_check, lr_transfer
    from . import asked as a
    return [("curves.png", curves.draw, (), a.always),
            ("layers.png", layers.draw, (), a.layers),
            ("hist_activation.png", histograms.draw, ("activation",), a.probe("histograms")),
            ("hist_delta.png", histograms.draw, ("delta",), a.probe("histograms")),
            ("saturated.png", fractions.draw, ("saturated.png",), a.fraction("saturated_frac")),
            ("dead.png", fractions.draw, ("dead.png",), a.fraction("dead_frac")),
            ("symmetry.png", symmetry.draw, (), a.probe("symmetry")),
            ("jacobian.png", jacobian.draw, (), a.probe("jacobian")),
            ("layer_jacobian.png", layer_jacobian.draw, (), a.probe("layer_jacobian")),
            ("heatmap.png", heatmap.draw, (), a.two_numeric_axes),
            ("steps_to_target.png", steps_to_target.draw, (), a.target),
            ("scale.png", scale.draw, (), a.axis("init.scale")),
            ("correlation.png", correlation.draw, (), a.probe("correlation")),
            ("length_variance.png", length_variance.draw, (), a.relu_correlation),
            ("jacobian_moments.png", jacobian_moments.draw, (), a.square_jacobian),
            ("modes.png", modes.draw, (), a.probe("modes")),
            ("mode_times.png", mode_times.draw, (), a.probe("modes")),
            ("stream.png", stream.draw, (), a.probe("stream")),
            ("coord_check.png", coord_check.draw, (), a.probe("coord_check")),
            ("lr_transfer.png", lr_transfer.draw, (), a.varying("train.lr", "model.width"))]


def setup_matplotlib():
    """The Agg backend and matplotlib's default style (no matplotlibrc): the same figures
    everywhere."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    matplotlib.rcdefaults()
    from .style import DPI
    matplotlib.rcParams["savefig.dpi"] = DPI
    matplotlib.rcParams["figure.dpi"] = DPI


def plot(folder, figures=None):
    """Draws every figure the data of folder allows into folder/plots/; returns their names.
    Raises initbench.tables.DataError for bad or missing data (before any figure is drawn).
    figures: a dict to receive each matplotlib Figure by file name (the tests read them)."""
    from .experiment import Experiment
    exp = Experiment(folder)
    exp.out = os.path.join(folder, "plots")
    exp.written = []
    exp.figures = figures
    for note in exp.notes:
        print(f"note: {note}", flush=True)
    exp.notes = []
    for name, draw, args, asked in _jobs():
        skipped = draw(exp, *args)
        for note in exp.notes:
            print(f"note: {note}", flush=True)
        exp.notes = []
        if skipped:
            if asked(exp):  # a figure the spec did not ask for is skipped without a word
                print(f"note: skip {name}: {skipped}", flush=True)
            stale = os.path.join(exp.out, name)
            if os.path.isfile(stale):
                os.remove(stale)
                print(f"note: removed the stale {stale}", flush=True)
    return exp.written


def main(argv):
    """The command line: main(["DIR"]) plots DIR and returns the exit status."""
    ap = argparse.ArgumentParser(
        prog="plot.py", description=__doc__.replace(USAGE + "\n\n", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", metavar="DIR", help="an experiment folder written by initbench run")
    args = ap.parse_args(argv)
    try:
        import numpy  # noqa: F401
        import pandas  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as e:
        print(f"plot.py: error: {e.name} is not installed for {sys.executable} (Debian: apt-get "
              f"install python3-numpy python3-pandas python3-matplotlib)", file=sys.stderr)
        return 3
    setup_matplotlib()
    from ..tables import one_line_errors

    def work():
        with numpy.errstate(all="ignore"):
            plot(args.dir)

    return one_line_errors("plot.py", "INITBENCH_PLOT_DEBUG", work)
