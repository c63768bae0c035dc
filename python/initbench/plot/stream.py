"""stream.png: a residual net's stream per block (stream.csv): the RMS of x_b against the block
b = 0..B on a log axis, one colour per scheme, one thin line per seed, a panel per value of the
grid axes that vary besides seed and the scheme (e.g. the depths), a row of panels at the first
probed step and one at the last. A stream that overflows (inf or nan) ends at its last finite
block with a cross there; a run non-finite from block 0, or stopped (diverged) before the
panel's step, is named in the panel instead: no run is left out silently."""

import numpy as np

from .style import OKABE_ITO, finish, log_y, new_figure, title_for

NAME = "stream.png"


def panel_axes(exp, runs):
    """The grid axes that lay out the panels: varying, not seed or init.scheme, and not fixed by
    the scheme among the runs with a stream (zipped with it, like model.residual)."""
    out = []
    for a in exp.axes:
        if not a.varies or a.name in ("seed", "init.scheme"):
            continue
        column = exp.runs.loc[runs, "axis:" + a.name]
        if column.groupby(exp.runs.loc[runs, "scheme"]).nunique().max() <= 1:
            continue
        out.append(a.name)
    return out


def last_finite(values):
    """Index of the last block before the first non-finite one; -1 if block 0 is not finite."""
    bad = np.nonzero(~np.isfinite(values))[0]
    return len(values) - 1 if len(bad) == 0 else int(bad[0]) - 1


def draw(exp):
    t = exp.stream
    if t is None:
        return "no stream.csv"
    if len(t) == 0:
        return "stream.csv has no rows (probes.stream is off)"
    runs = sorted(t["run_id"].unique())
    schemes = list(dict.fromkeys(exp.runs.loc[runs, "scheme"]))
    colors = {s: OKABE_ITO[i % len(OKABE_ITO)] for i, s in enumerate(schemes)}
    by = panel_axes(exp, runs)
    keys = list(dict.fromkeys(tuple(exp.runs.at[r, "axis:" + a] for a in by) for r in runs))
    steps = sorted(t["step"].unique())
    rows = [steps[0]] if len(steps) == 1 else [steps[0], steps[-1]]
    nc = max(1, len(keys))
    fig = new_figure(3.6 * nc + 0.6, 2.9 * len(rows) + 0.9)
    axes = fig.subplots(len(rows), nc, squeeze=False)
    overflowed = False
    for i, step in enumerate(rows):
        at_step = t[t["step"] == step]
        for j, key in enumerate(keys):
            ax = axes[i][j]
            values = []
            missing = []
            stopped = []
            for r in runs:
                if tuple(exp.runs.at[r, "axis:" + a] for a in by) != key:
                    continue
                g = at_step[at_step["run_id"] == r].sort_values("block")
                if len(g) == 0:  # the run stopped before this step (diverged)
                    stopped.append(exp.runs.at[r, "scheme"])
                    continue
                v = g["stream_rms"].to_numpy()
                b = g["block"].to_numpy()
                scheme = exp.runs.at[r, "scheme"]
                k = last_finite(v)
                if k < 0:
                    missing.append(scheme)
                    continue
                ax.plot(b[:k + 1], v[:k + 1], color=colors[scheme], lw=1.0, alpha=0.8)
                values.extend(v[:k + 1])
                if k < len(v) - 1:
                    overflowed = True
                    ax.plot([b[k]], [v[k]], color=colors[scheme], marker="x", ms=6, ls="none",
                            gid="overflow")
            log_y(ax, values)
            label = ", ".join(f"{a} = {v}" for a, v in zip(by, key))
            ax.set_title(f"{label}{', ' if label else ''}step {step}", fontsize=8.5)
            notes = []
            if missing:
                notes.append("non-finite from block 0: " + ", ".join(dict.fromkeys(missing)))
            if stopped:
                notes.append(f"stopped before step {step}: " + ", ".join(dict.fromkeys(stopped)))
            if notes:
                ax.text(0.02, 0.97, "\n".join(notes), transform=ax.transAxes, fontsize=7,
                        color="0.3", va="top", gid="stream_note")
            ax.set_xlabel("block b")
            if j == 0:
                ax.set_ylabel("RMS of $x_b$ (log axis)")
            ax.grid(True, alpha=0.3)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=colors[s], lw=1.5) for s in schemes]
    labels = list(schemes)
    if overflowed:
        handles.append(Line2D([], [], color="0.2", marker="x", ls="none"))
        labels.append("last finite block (inf or nan after it)")
    what = "RMS of the residual stream $x_b$ per block (one line per seed)"
    finish(exp, fig, NAME, title_for(exp, what), (handles, labels))
    return None
