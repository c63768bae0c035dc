"""steps_to_target.png: steps to the train target per setting (runs.csv's steps_to_target):
mean over the runs that reached it, whiskers min..max, one dot per run, reached/total counts."""

import numpy as np

from .experiment import spec_get
from .stats import wants_log
from .style import (finish, new_figure, text_width, title_for, zero_handle,
                    zeros_at_floor)

NAME = "steps_to_target.png"


def draw(exp):
    target_loss = spec_get(exp.spec, "train.target_loss")
    target_acc = spec_get(exp.spec, "train.target_accuracy")
    reached = exp.runs["steps_to_target"]
    if target_loss is None and target_acc is None and not (reached >= 0).any():
        return "no train.target_loss or train.target_accuracy in the spec"
    n = len(exp.setting_keys)
    # the bars get 5 inches beside the longest setting label
    label_in = max(text_width(exp.labels[s], 8) for s in range(n))
    fig = new_figure(max(7.5, label_in + 5.6), 0.38 * n + 1.9)
    ax = fig.add_subplot(1, 1, 1)
    per_setting = [reached[exp.setting_runs[s]].to_numpy() for s in range(n)]
    all_vals = [v for vals in per_setting for v in vals.tolist() if v >= 0]
    xmax = max(all_vals) if all_vals else 1
    log = wants_log(all_vals, 30)
    zeros = 0
    for s, vals in enumerate(per_setting):
        y = n - 1 - s
        ok = vals[vals >= 0]
        st = exp.style(s)
        if ok.size:
            mean = ok.mean()
            ax.barh(y, mean, height=0.6, color=st["color"], alpha=0.55, edgecolor=st["color"])
            if ok.size > 1:
                ax.errorbar(mean, y, xerr=[[mean - ok.min()], [ok.max() - mean]], color="0.15",
                            capsize=3, lw=1)
            ax.plot(ok, np.full(ok.size, y), "o", color="0.1", ms=3, zorder=4)
            if log:  # a run at its target from step 0 has no place on a log axis
                zeros += zeros_at_floor(ax, np.full(ok.size, y), ok, "0.1", axis="x")
            xt = ok.max()
        else:
            xt = 0
        ndiv = int((exp.runs.loc[exp.setting_runs[s], "status"] == "diverged").sum())
        ax.text(xt * (1.08 if log else 1.0) + (0 if log else 0.015 * xmax), y,
                f" {ok.size}/{vals.size} reached" + (f", {ndiv} diverged" if ndiv else ""),
                va="center", fontsize=8)
    ax.set_yticks(range(n))
    ax.set_yticklabels([exp.labels[s] for s in range(n - 1, -1, -1)], fontsize=8)
    if log:
        ax.set_xscale("log")
    else:
        ax.set_xlim(0, xmax * 1.25)
    ax.set_ylim(-0.7, n - 0.3)
    what = []
    if target_loss is not None:
        what.append(f"train loss \u2264 {target_loss:g}")
    if target_acc is not None:
        what.append(f"train accuracy \u2265 {target_acc:g}")
    ax.set_xlabel("steps to target (parameter updates)")
    ax.grid(True, axis="x", alpha=0.3)
    tgt = " or ".join(what) if what else "the target"
    title = title_for(exp, f"steps to reach {tgt}\n(bar: mean over the runs that reached it, "
                           f"whiskers min..max, dots: runs)")
    legend = None
    if zeros:
        handle, label = zero_handle()
        legend = ([handle], [f"run at its target at step {label}"])
    finish(exp, fig, NAME, title, legend)
    return None
