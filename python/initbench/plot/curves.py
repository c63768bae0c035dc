"""curves.png: train/test loss and accuracy over steps per setting (curves.csv)."""

from matplotlib.lines import Line2D
import numpy as np

from .experiment import spec_get
from .stats import MAX_SETTINGS, group_stats, series, wants_log
from .style import (finish, log_y, new_figure, setting_handles, step_axis, title_for,
                    zero_handle, zeros_at_floor)

NAME = "curves.png"


def draw(exp):
    """Mean over seeds, band min..max, diverged runs marked x where they stopped, the target
    dotted. Returns None, or why the figure is skipped."""
    t = exp.curves
    if len(t) == 0:
        return "curves.csv has no rows"
    metrics = [m for m in ("train_loss", "test_loss", "train_acc", "test_acc")
               if np.isfinite(t[m].to_numpy()).any()]
    if not metrics:
        return "curves.csv holds no finite loss or accuracy"
    shown = exp.shown_settings(MAX_SETTINGS)
    exp.shown_note(shown, NAME)
    rows = [r for r in ("loss", "acc") if any(m.endswith(r) for m in metrics)]
    cols = [c for c in ("train", "test") if any(m.startswith(c) for m in metrics)]
    fig = new_figure(5.2 * len(cols), 3.3 * len(rows) + 0.5)
    # the last row of each run: where a diverged run stopped (the first of equal last steps)
    last_rows = t.iloc[::-1].groupby("run_id", sort=True)["step"].idxmax()
    last = dict(zip(last_rows.index.tolist(), last_rows.to_numpy().tolist()))
    status = exp.runs["status"]
    setting_of = exp.runs["setting"]
    diverged = [r for r in sorted(last) if status[r] == "diverged" and setting_of[r] in shown]
    targets = (spec_get(exp.spec, "train.target_loss"),
               spec_get(exp.spec, "train.target_accuracy"))
    zeros = 0
    for ri, row in enumerate(rows):
        for ci, col in enumerate(cols):
            ax = fig.add_subplot(len(rows), len(cols), ri * len(cols) + ci + 1)
            if f"{col}_{row}" not in metrics:
                ax.set_axis_off()
                continue
            zeros += _panel(exp, ax, t, row, col, shown, last, diverged, targets)
    extra = []
    if diverged:
        extra.append((Line2D([], [], marker="x", ms=8, mew=2, color="0.2", ls="none"),
                      "diverged run: x at the step it stopped"))
    if any(isinstance(v, (int, float)) for v in targets):
        extra.append((Line2D([], [], color="0.3", ls=":", lw=1), "target"))
    if zeros:
        extra.append(zero_handle())
    n_seeds = max(len(v) for v in exp.setting_runs)
    band = ", band: min..max over seeds" if n_seeds > 1 else ""
    finish(exp, fig, NAME, title_for(exp, f"learning curves (mean over seeds{band})"),
           setting_handles(exp, shown, extra))
    return None


def _panel(exp, ax, t, row, col, shown, last, diverged, targets):
    """One metric's lines; returns how many zeros were marked at the floor of a log axis."""
    step = t["step"].to_numpy()
    setting = t["setting"].to_numpy()
    y_all = t[f"{col}_{row}"].to_numpy()
    status = exp.runs["status"]
    # A diverged run's last row holds the blown-up value (inf, nan or 1e300): it is marked with
    # an x, not averaged in (it would stretch the axis past reading).
    y = y_all.copy()
    y[[last[r] for r in last if status[r] == "diverged"]] = np.nan
    y[np.abs(y) > 1e100] = np.nan
    stats = group_stats([setting, step], y)
    log = row == "loss" and wants_log(y[np.isin(setting, shown)])
    zeros = 0
    for s in shown:
        got = series(stats, s)
        if got is None:
            continue
        xs, m = got
        st = exp.style(s)
        mean = m[:, 0]
        if log:
            zeros += zeros_at_floor(ax, xs, mean, st["color"])
            mean = np.where(mean > 0, mean, np.nan)
        ax.plot(xs, mean, lw=1.6, marker="o" if len(xs) <= 2 else None, ms=4, **st)
        if len(exp.setting_runs[s]) > 1:
            ax.fill_between(xs, m[:, 1], m[:, 2], color=st["color"], alpha=0.12, lw=0)
    for r in diverged:
        i = last[r]
        color = exp.style(exp.runs.at[r, "setting"])["color"]
        if row == "acc" and np.isfinite(y_all[i]):
            ax.plot([step[i]], [y_all[i]], marker="x", ms=9, mew=2, color=color, ls="none",
                    zorder=5)
        else:  # the loss blew up: mark the step at the top of the panel
            ax.plot([step[i]], [0.96 if row == "loss" else 0.04], marker="x", ms=9, mew=2,
                    color=color, ls="none", zorder=5, transform=ax.get_xaxis_transform(),
                    clip_on=False)
    target_loss, target_acc = targets
    if row == "loss":
        if log:
            log_y(ax, y[np.isin(setting, shown)])
        ax.set_ylabel(f"{col} {exp.loss_label()}")
        if col == "train" and isinstance(target_loss, (int, float)):
            ax.axhline(target_loss, color="0.3", ls=":", lw=1)
    else:
        ax.set_ylabel(f"{col} accuracy (fraction correct)")
        lo, hi = ax.get_ylim()
        ax.set_ylim(max(lo, -0.02), min(hi, 1.02))
        if col == "train" and isinstance(target_acc, (int, float)):
            ax.axhline(target_acc, color="0.3", ls=":", lw=1)
    step_axis(exp, ax, step)
    ax.set_title(f"{col} {'loss' if row == 'loss' else 'accuracy'}", fontsize=10)
    ax.grid(True, alpha=0.3)
    return zeros
