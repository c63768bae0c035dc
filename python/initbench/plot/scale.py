"""scale.png: what a weight-scale sweep does at initialization and to training, against
init.scale (runs.csv and layers.csv at step 0).

Three panels, x = init.scale (log axis): the back-propagated ratio ||dL/dz_1|| / ||dL/dz_L|| at
step 0 (He et al. 2015's quantity; a ratio that reads 0, an underflow, is marked at the bottom of
the axis), the saturated fraction at step 0 averaged over the hidden layers (tanh, sigmoid,
softsign; the panel is left out when no run has one), and the final train accuracy. One line per
combination of the other grid axes (mean over seeds, band min..max); diverged runs count with
the accuracy their last evaluation had. Drawn when the grid has an init.scale axis with at least
three values and layers.csv has step-0 rows.
"""

import numpy as np

from matplotlib.lines import Line2D

from .stats import MAX_SETTINGS, group_stats, pick_evenly
from .style import finish, log_y, new_figure, style, title_for, zero_handle, zeros_at_floor

NAME = "scale.png"
MIN_SCALES = 3


def _step0(exp):
    """Per run at step 0: (delta ratio, mean saturated fraction over the hidden layers)."""
    t = exp.layers
    t0 = t[t["step"] == 0]
    ratio, saturated = {}, {}
    for run_id, rows in t0.groupby("run_id", sort=True):
        rows = rows.sort_values("layer")
        first, last = rows["delta_norm"].iloc[0], rows["delta_norm"].iloc[-1]
        ratio[run_id] = first / last if last > 0 else np.nan
        hidden = rows["saturated_frac"].to_numpy()[:-1]
        hidden = hidden[np.isfinite(hidden)]
        saturated[run_id] = hidden.mean() if hidden.size else np.nan
    return ratio, saturated


def draw(exp):
    axis = next((a for a in exp.axes if a.name == "init.scale"), None)
    if axis is None or axis.numeric is None:
        return "no init.scale grid axis"
    if len(axis.values) < MIN_SCALES:
        return f"init.scale has {len(axis.values)} values (at least {MIN_SCALES} wanted)"
    if exp.layers is None or not (exp.layers["step"] == 0).any():
        return "layers.csv has no step-0 rows"
    ratio, saturated = _step0(exp)
    runs = exp.runs
    scale = runs["axis:init.scale"].astype(float).to_numpy()
    # A line per combination of the other varying grid axes (seed excluded).
    others = [a.name for a in exp.axes if a.varies and a.name not in ("init.scale", "seed")]
    line_keys = list(runs[["axis:" + n for n in others]].itertuples(index=False, name=None)) \
        if others else [()] * len(runs)
    lines = list(dict.fromkeys(line_keys))
    shown = pick_evenly(lines, MAX_SETTINGS)
    if len(shown) < len(lines):
        exp.notes.append(f"{NAME}: showing {len(shown)} of {len(lines)} lines")
    line_of = np.array([lines.index(k) for k in line_keys])
    run_ids = runs.index.to_numpy()
    r = np.array([ratio.get(i, np.nan) for i in run_ids])
    sat = np.array([saturated.get(i, np.nan) for i in run_ids])
    acc = runs["final_train_acc"].to_numpy()
    panels = [("ratio", r, "$\\|\\partial L/\\partial z_1\\| \\,/\\, \\|\\partial L/\\partial "
                           "z_L\\|$ at step 0")]
    if np.isfinite(sat).any():
        panels.append(("saturated", sat, "saturated fraction at step 0\n(mean over hidden layers)"))
    panels.append(("accuracy", acc, "final train accuracy"))
    fig = new_figure(4.2 * len(panels) + 0.4, 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    underflow = False
    for ax, (kind, values, label) in zip(axes, panels):
        positive = values[np.isfinite(values) & (values > 0)]
        for i, key in enumerate(shown):
            li = lines.index(key)
            sel = line_of == li
            stats = group_stats([scale[sel]], values[sel])
            if len(stats) == 0:
                continue
            xs = np.asarray(stats.index.get_level_values(-1))
            m = stats[["mean", "min", "max"]].to_numpy()
            st = style(i)
            if kind == "ratio" and positive.size:  # exact zeros (underflow): at the floor
                underflow |= zeros_at_floor(ax, xs, m[:, 0], st["color"]) > 0
                ok = m[:, 0] > 0
                xs, m = xs[ok], m[ok]
                m = np.where(m > 0, m, np.nan)
            ax.plot(xs, m[:, 0], marker="o", ms=3.5, lw=1.5, **st)
            ax.fill_between(xs, m[:, 1], m[:, 2], color=st["color"], alpha=0.12, lw=0)
        ax.set_xscale("log", base=2)
        ax.set_xticks(axis.numeric)
        ax.set_xticklabels([f"{v:.3g}" for v in axis.numeric], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel("init.scale (x the scheme's standard deviation)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if kind == "ratio":
            if positive.size:
                log_y(ax, positive)
                ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
        else:
            ax.set_ylim(-0.03, 1.03)
    handles = [Line2D([], [], lw=2, marker="o", ms=3.5, **style(i)) for i in range(len(shown))]
    labels = [", ".join(k) if k else exp.name for k in shown]
    if underflow:
        handle, label = zero_handle()
        handles.append(handle)
        labels.append(f"ratio reads 0 (underflow): {label}")
    title = title_for(exp, "the weight scale at initialization and after training\n"
                           "(mean over seeds, band: min..max)")
    finish(exp, fig, NAME, title, (handles, labels))
    return None
