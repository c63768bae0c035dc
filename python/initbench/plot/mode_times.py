"""mode_times.png: each teacher mode's learning time t_i (modes.learning_times: the step at which
a_i / s_i first reaches 1/2) against 1/s_i on log axes, one colour per setting (e.g. depth), one
dot per run and mode, the mean over seeds joined by a line; dashed guides of slope 1 (t
proportional to 1/s, Saxe et al. 2014) through each setting's geometric mean. The legend gives
each setting's least-squares slope of log t on log(1/s) over all its runs."""

import numpy as np

from .modes import learning_times, setting_name
from .style import finish, new_figure, style, title_for

NAME = "mode_times.png"


def draw(exp):
    t = exp.modes
    if t is None:
        return "no modes.csv"
    if len(t) == 0:
        return "modes.csv has no rows (probes.modes is off)"
    times = learning_times(exp)
    fig = new_figure(6.4, 4.4)
    ax = fig.subplots()
    handles, labels = [], []
    for k, (s, g) in enumerate(times.groupby("setting")):
        st = style(k)
        ok = g[np.isfinite(g["t"])]
        x = 1.0 / ok["s"].to_numpy()
        y = ok["t"].to_numpy()
        ax.scatter(x, y, s=12, color=st["color"], alpha=0.6, lw=0)
        # by mode, not by s: each run's s_i comes from its own SVD, equal only to rounding
        mean = ok.groupby("mode")[["s", "t"]].mean().sort_index()
        line, = ax.plot(1.0 / mean["s"].to_numpy(), mean["t"].to_numpy(), marker="o", ms=4,
                        lw=1.5, color=st["color"])
        slope = np.polyfit(np.log(x), np.log(y), 1)[0] if len(np.unique(x)) > 1 else np.nan
        gx, gy = np.exp(np.log(x).mean()), np.exp(np.log(y).mean())
        xs = np.array([x.min(), x.max()])
        ax.plot(xs, gy * xs / gx, color=st["color"], ls="--", lw=0.8)
        missing = len(g) - len(ok)
        handles.append(line)
        labels.append(f"{setting_name(exp, s)}: slope {slope:.2f}" +
                      (f" ({missing} never learned)" if missing else ""))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("1 / $s_i$ (the teacher mode's inverse singular value)")
    ax.set_ylabel("learning time $t_i$ (steps to $a_i / s_i = 1/2$)")
    ax.grid(True, which="both", alpha=0.3)
    from matplotlib.lines import Line2D
    handles.append(Line2D([], [], color="0.3", ls="--", lw=0.8))
    labels.append("slope 1: t proportional to 1/s")
    what = "each teacher mode's learning time against 1/s\n(dots: runs; lines: mean over seeds)"
    finish(exp, fig, NAME, title_for(exp, what), (handles, labels))
    return None
