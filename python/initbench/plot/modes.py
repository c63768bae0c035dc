"""modes.png: how a linear network learns each singular mode of a linear teacher (modes.csv;
Saxe, McClelland & Ganguli 2014): the learned strength over the teacher's singular value,
a_i / s_i, against the step, one colour per mode (strongest first), one thin line per seed, a
panel per setting (the settings other than seed, e.g. the depths). A dotted line at 1/2 marks the
learning time of a mode (the step at which a_i / s_i first reaches it: learning_times)."""

import numpy as np
import pandas as pd

from .style import finish, layer_colors, new_figure, title_for

NAME = "modes.png"
LEVEL = 0.5  # a mode is learned when a_i / s_i reaches this


def crossing(steps, ratio, level):
    """The step at which ratio first reaches level, linear between the probed steps around it;
    nan if it never does."""
    hit = np.nonzero(ratio >= level)[0]
    if len(hit) == 0:
        return np.nan
    k = hit[0]
    if k == 0:
        return float(steps[0])
    f = (level - ratio[k - 1]) / (ratio[k] - ratio[k - 1])
    return float(steps[k - 1] + f * (steps[k] - steps[k - 1]))


def learning_times(exp):
    """One row per (run, mode): setting, seed, mode, s, t (a_i / s_i = 1/2), t10 and t90 (0.1
    and 0.9), a0 (a_i / s_i at the first probed step); nan where a level is never reached."""
    t = exp.modes
    rows = []
    for (run, mode), g in t.sort_values(["run_id", "mode", "step"]).groupby(["run_id", "mode"]):
        steps = g["step"].to_numpy()
        ratio = (g["strength"] / g["singular_value"]).to_numpy()
        rows.append({"run_id": run, "setting": int(g["setting"].iloc[0]),
                     "seed": exp.runs.at[run, "seed"], "mode": int(mode),
                     "s": float(g["singular_value"].iloc[0]),
                     "t": crossing(steps, ratio, LEVEL), "t10": crossing(steps, ratio, 0.1),
                     "t90": crossing(steps, ratio, 0.9), "a0": float(ratio[0])})
    return pd.DataFrame(rows)


def setting_name(exp, s):
    """A setting's label with its grid axis named when one axis varies ("model.depth = 2")."""
    varying = [a for a in exp.axes if a.varies and a.name != "seed"]
    if len(varying) == 1:
        return f"{varying[0].name} = {exp.labels[s]}"
    return exp.labels[s]


def draw(exp):
    t = exp.modes
    if t is None:
        return "no modes.csv"
    if len(t) == 0:
        return "modes.csv has no rows (probes.modes is off)"
    settings = sorted(t["setting"].unique())
    modes = sorted(t["mode"].unique())
    colors = layer_colors(len(modes))
    n = len(settings)
    nc = min(n, 4)
    nr = (n + nc - 1) // nc
    fig = new_figure(3.4 * nc + 0.6, 2.8 * nr + 0.9)
    axes = fig.subplots(nr, nc, squeeze=False, sharey=True)
    s_of = t.groupby("mode")["singular_value"].first()
    for i, s in enumerate(settings):
        ax = axes[i // nc][i % nc]
        cell = t[t["setting"] == s]
        for j, mode in enumerate(modes):
            for _, g in cell[cell["mode"] == mode].groupby("run_id"):
                g = g[g["step"] > 0].sort_values("step")  # a log step axis
                ax.plot(g["step"], g["strength"] / g["singular_value"], color=colors[j], lw=1.0,
                        alpha=0.8)
        ax.axhline(LEVEL, color="0.4", ls=":", lw=1)
        ax.set_ylim(-0.05, 1.15)
        ax.set_title(setting_name(exp, s), fontsize=8.5)
        ax.set_xscale("log")
        ax.set_xlabel("step (log axis)")
        if i % nc == 0:
            ax.set_ylabel("$a_i / s_i$")
        ax.grid(True, alpha=0.3)
    for k in range(n, nr * nc):
        axes[k // nc][k % nc].set_axis_off()
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=colors[j], lw=1.5) for j in range(len(modes))]
    labels = [f"mode {m}: s = {s_of[m]:g}" for m in modes]
    handles.append(Line2D([], [], color="0.4", ls=":", lw=1))
    labels.append("1/2: the learning time")
    what = ("each teacher mode's learned strength $a_i = u_i^T W_{tot} v_i$ over its singular "
            "value $s_i$\n(one line per seed)")
    finish(exp, fig, NAME, title_for(exp, what), (handles, labels))
    return None
