"""saturated.png, dead.png: the saturated and dead-unit fractions of each hidden layer over
training, one panel per setting (layers.csv's saturated_frac and dead_frac). Past MAX_SETTINGS
settings the panels are smaller and follow the grid of the line figures' small multiples: a row
per (row, column) value pair, a column per line value (glorot2010: a row per activation and
scheme, a column per depth)."""

import math

from matplotlib.lines import Line2D
import numpy as np

from .facets import Layout
from .stats import MAX_LAYER_LINES, MAX_SETTINGS, group_stats, pick_evenly, series
from .style import finish, layer_colors, new_figure, step_axis, title_for

MAX_PANELS = 36
MAX_CELLS = 8
MAX_GRID_COLUMNS = 9
FIGURES = {"saturated.png": ("saturated_frac", "saturated fraction"),
           "dead.png": ("dead_frac", "dead-unit fraction")}


def _grid(exp, settings, name):
    """The settings' panels as rows of equal length (None: an empty place), and the Layout
    when they follow the small multiples (else None). Up to MAX_SETTINGS settings, wrapped in grid
    order. Past it, when the small multiples of the line figures (facets.py) have 3 or more line
    values and at most MAX_CELLS (row, column) value pairs: a row per value pair, a column per
    line value (at most MAX_GRID_COLUMNS, and MAX_PANELS panels in all); otherwise wrapped in
    grid order, at most MAX_PANELS panels."""
    layout = Layout(exp, settings, MAX_SETTINGS)
    nr, nc = layout.shape
    cells = [(fr, fc) for fr in range(nr) for fc in range(nc) if layout.in_cell(fr, fc)]
    if layout.faceted and len(layout.lines) >= 3 and len(cells) <= MAX_CELLS:
        cap = max(3, min(MAX_GRID_COLUMNS, MAX_PANELS // len(cells)))
        lines = pick_evenly(list(range(len(layout.lines))), cap)
        grid = [[next((s for s in layout.in_cell(*c) if layout.line[s] == li), None)
                 for li in lines] for c in cells]
        n = sum(s is not None for row in grid for s in row)
        if n < len(settings):
            exp.notes.append(f"{name}: showing {n} of {len(settings)} settings")
        return grid, layout
    shown = pick_evenly(settings, MAX_PANELS if len(settings) > MAX_SETTINGS else MAX_SETTINGS)
    if len(shown) < len(settings):
        exp.notes.append(f"{name}: showing {len(shown)} of {len(settings)} settings")
    ncols = min(6 if len(shown) > MAX_SETTINGS else 4, math.ceil(math.sqrt(len(shown))))
    shown = shown + [None] * (-len(shown) % ncols)
    return [shown[i:i + ncols] for i in range(0, len(shown), ncols)], None


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
    grid, layout = _grid(exp, settings, name)
    nrows, ncols = len(grid), len(grid[0])
    shown = [s for row in grid for s in row if s is not None]
    stats = group_stats([setting, layer, step], y)
    small = len(shown) > MAX_SETTINGS
    if small:
        fig = new_figure((2.7 if ncols <= 6 else 2.3) * ncols + 0.5, 1.95 * nrows + 0.8)
    else:
        fig = new_figure(3.6 * ncols + 0.4, 2.6 * nrows + 0.7)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    all_layers = sorted(set(layer[ok].tolist()))
    layers = pick_evenly(all_layers, MAX_LAYER_LINES)
    colors = dict(zip(layers, layer_colors(len(layers))))
    for i in range(nrows * ncols):
        ri, ci = divmod(i, ncols)
        ax = axes[ri][ci]
        s = grid[ri][ci]
        if s is None:
            ax.set_axis_off()
            continue
        for l in layers:
            got = series(stats, s, l)
            if got is None:
                continue
            xs, m = got
            ax.plot(xs, m[:, 0], color=colors[l], lw=1.5, label=f"layer {l}",
                    marker="o" if len(xs) <= 2 else None, ms=4)  # one step: a dot
            if len(exp.setting_runs[s]) > 1:
                ax.fill_between(xs, m[:, 1], m[:, 2], color=colors[l], alpha=0.12, lw=0)
        ax.set_title(layout.setting_title(s) if layout and layout.faceted else exp.labels[s],
                     fontsize=7.5 if small else 8.5)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(True, alpha=0.3)
        if ci == 0:
            ax.set_ylabel(f"{what} (fraction)", fontsize=8 if small else None)
        below = grid[ri + 1][ci] if ri + 1 < nrows else None
        if below is None:  # the lowest panel of its column
            step_axis(exp, ax, step)
            ax.xaxis.set_tick_params(labelbottom=True)
    handles = ([Line2D([], [], color=colors[l], lw=2) for l in layers],
               [f"layer {l}" for l in layers])
    if len(layers) < len(all_layers):
        exp.notes.append(f"{name}: showing {len(layers)} of {len(all_layers)} layers")
    title = title_for(exp, f"{what} per hidden layer over training\n(mean over seeds, band: "
                           f"min..max)")
    finish(exp, fig, name, title, handles, min(len(layers), 6))
    return None
