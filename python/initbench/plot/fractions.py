"""saturated.png, dead.png: the saturated and dead-unit fractions of each hidden layer over
training, one panel per setting (layers.csv's saturated_frac and dead_frac)."""

import math

from matplotlib.lines import Line2D
import numpy as np

from .stats import MAX_LAYER_LINES, MAX_SETTINGS, group_stats, pick_evenly, series
from .style import finish, layer_colors, new_figure, step_axis, title_for

FIGURES = {"saturated.png": ("saturated_frac", "saturated fraction"),
           "dead.png": ("dead_frac", "dead-unit fraction")}


def draw(exp, name):
    column, what = FIGURES[name]
    t = exp.layers
    if t is None:
        return "no layers.csv"
    if len(t) == 0:
        return "layers.csv has no rows (probes.every is 0)"
    y = t[column].to_numpy()
    ok = np.isfinite(y)
    if not ok.any():
        return f"layers.csv: '{column}' is nan everywhere ({what})"
    step, layer, setting = (t[c].to_numpy() for c in ("step", "layer", "setting"))
    settings = [s for s in range(len(exp.setting_keys)) if (ok & (setting == s)).any()]
    shown = pick_evenly(settings, MAX_SETTINGS)
    if len(shown) < len(settings):
        exp.notes.append(f"{name}: showing {len(shown)} of {len(settings)} settings")
    stats = group_stats([setting, layer, step], y)
    ncols = min(4, math.ceil(math.sqrt(len(shown))))
    nrows = math.ceil(len(shown) / ncols)
    fig = new_figure(3.6 * ncols + 0.4, 2.6 * nrows + 0.7)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    all_layers = sorted(set(layer[ok].tolist()))
    layers = pick_evenly(all_layers, MAX_LAYER_LINES)
    colors = dict(zip(layers, layer_colors(len(layers))))
    for i, s in enumerate(shown):
        ax = axes[i // ncols][i % ncols]
        for l in layers:
            got = series(stats, s, l)
            if got is None:
                continue
            xs, m = got
            ax.plot(xs, m[:, 0], color=colors[l], lw=1.5, label=f"layer {l}")
            if len(exp.setting_runs[s]) > 1:
                ax.fill_between(xs, m[:, 1], m[:, 2], color=colors[l], alpha=0.12, lw=0)
        ax.set_title(exp.labels[s], fontsize=8.5)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(True, alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel(f"{what} (fraction)")
        if i // ncols == nrows - 1 or i + ncols >= len(shown):
            step_axis(exp, ax, step)
            ax.xaxis.set_tick_params(labelbottom=True)
    for j in range(len(shown), nrows * ncols):
        axes[j // ncols][j % ncols].set_axis_off()
    handles = ([Line2D([], [], color=colors[l], lw=2) for l in layers],
               [f"layer {l}" for l in layers])
    if len(layers) < len(all_layers):
        exp.notes.append(f"{name}: showing {len(layers)} of {len(all_layers)} layers")
    title = title_for(exp, f"{what} per hidden layer over training\n(mean over seeds, band: "
                           f"min..max)")
    finish(exp, fig, name, title, handles, min(len(layers), 6))
    return None
