"""curves.png: train/test loss and accuracy over steps per setting (curves.csv).

Up to MAX_LINES settings: four panels (train/test x loss/accuracy), one line per setting. More
settings make small multiples (facets.py): a loss row and an accuracy row per value of the row
axis, a column per value of the column axis, the other axes as lines; train solid (with the band
over seeds), test dashed."""

from matplotlib.lines import Line2D
import numpy as np

from .experiment import spec_get
from .facets import Layout
from .stats import group_stats, series, wants_log
from .style import (finish, log_y, new_figure, step_axis, title_for, zero_handle,
                    zeros_at_floor)

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
    layout = Layout(exp)
    layout.note(NAME)
    shown = layout.settings
    rows = [r for r in ("loss", "acc") if any(m.endswith(r) for m in metrics)]
    cols = [c for c in ("train", "test") if any(m.startswith(c) for m in metrics)]
    # the last row of each run: where a diverged run stopped (the first of equal last steps)
    last_rows = t.iloc[::-1].groupby("run_id", sort=True)["step"].idxmax()
    last = dict(zip(last_rows.index.tolist(), last_rows.to_numpy().tolist()))
    status = exp.runs["status"]
    setting_of = exp.runs["setting"]
    diverged = [r for r in sorted(last) if status[r] == "diverged" and setting_of[r] in shown]
    targets = (spec_get(exp.spec, "train.target_loss"),
               spec_get(exp.spec, "train.target_accuracy"))
    zeros = 0
    if not layout.faceted:
        fig = new_figure(5.2 * len(cols), 3.3 * len(rows) + 0.5)
        for ri, row in enumerate(rows):
            for ci, col in enumerate(cols):
                ax = fig.add_subplot(len(rows), len(cols), ri * len(cols) + ci + 1)
                if f"{col}_{row}" not in metrics:
                    ax.set_axis_off()
                    continue
                zeros += _panel(exp, layout, ax, t, row, (col,), shown, last, diverged, targets)
                ax.set_title(f"{col} {'loss' if row == 'loss' else 'accuracy'}", fontsize=10)
                ax.set_ylabel(_ylabel(exp, row, col))
    else:
        nr, nc = layout.shape
        sel = np.isin(t["setting"].to_numpy(), shown)
        # one scale for every loss panel (they share their rows' y axis)
        loss = np.concatenate([_clean(t, f"{c}_loss", last, exp)[sel] for c in cols]) \
            if "loss" in rows else np.array([])
        log = loss if wants_log(loss) else False
        fig = new_figure(max(7.0, 3.4 * nc + 0.5), 2.3 * nr * len(rows) + 0.6)
        axes = fig.subplots(nr * len(rows), nc, squeeze=False, sharex=True, sharey="row")
        for fr in range(nr):
            for ri, row in enumerate(rows):
                for ci in range(nc):
                    ax = axes[fr * len(rows) + ri][ci]
                    cell = layout.in_cell(fr, ci)
                    if not cell:
                        ax.set_axis_off()
                        continue
                    zeros += _panel(exp, layout, ax, t, row, cols, cell, last,
                                    [r for r in diverged if setting_of[r] in cell], targets,
                                    log if row == "loss" else False)
                    ax.set_title(f"{layout.panel_title(fr, ci)}", fontsize=8.5)
                    if ci == 0:
                        ax.set_ylabel(_ylabel(exp, row, None), fontsize=8.5)
                    below = ri < len(rows) - 1 or (fr + 1 < nr and layout.in_cell(fr + 1, ci))
                    if below:
                        ax.set_xlabel("")
                    else:  # the lowest panel of its column (a wrapped grid's last row is short)
                        ax.xaxis.set_tick_params(labelbottom=True)
        for ax in axes[:, 0]:  # the rows share their y range: clip it once all are drawn
            if "accuracy" in ax.get_ylabel():
                lo, hi = ax.get_ylim()
                ax.set_ylim(max(lo, -0.02), min(hi, 1.02))
    extra = []
    if layout.faceted and len(cols) == 2:
        extra += [(Line2D([], [], color="0.3", lw=1.6), "train"),
                  (Line2D([], [], color="0.3", lw=1.1, ls="--"), "test")]
    if diverged:
        extra.append((Line2D([], [], marker="x", ms=8, mew=2, color="0.2", ls="none"),
                      "diverged run: x at the step it stopped"))
    if any(isinstance(v, (int, float)) for v in targets):
        extra.append((Line2D([], [], color="0.3", ls=":", lw=1), "target"))
    if zeros:
        extra.append(zero_handle())
    n_seeds = max(len(v) for v in exp.setting_runs)
    band = ", band: min..max over seeds" if n_seeds > 1 else ""
    what = f"learning curves (mean over seeds{band})"
    if layout.faceted:
        what += f"\n{layout.describe()}"
    finish(exp, fig, NAME, title_for(exp, what), layout.handles(extra))
    return None


def _ylabel(exp, row, col):
    col = f"{col} " if col else ""
    if row == "loss":
        return f"{col}{exp.loss_label()}"
    return f"{col}accuracy (fraction correct)"


def _clean(t, column, last, exp):
    """A metric column without the blown-up values: a diverged run's last row holds inf, nan or
    1e300; it is marked with an x, not averaged in (it would stretch the axis past reading)."""
    status = exp.runs["status"]
    y = t[column].to_numpy().copy()
    y[[last[r] for r in last if status[r] == "diverged"]] = np.nan
    y[np.abs(y) > 1e100] = np.nan
    return y


def _panel(exp, layout, ax, t, row, cols, shown, last, diverged, targets, log=None):
    """The lines of the settings shown, for the metric row ("loss" or "acc") of each data set
    in cols (train solid, test dashed when there are two). log: False, the values a log loss axis
    is laid out for (the figure's), or None: log when this panel's loss spans a decade. Returns
    how many zeros were marked at the floor of a log axis."""
    step = t["step"].to_numpy()
    setting = t["setting"].to_numpy()
    ys = {col: _clean(t, f"{col}_{row}", last, exp) for col in cols}
    sel = np.isin(setting, shown)
    if log is None:
        here = np.concatenate([ys[c][sel] for c in cols])
        log = here if row == "loss" and wants_log(here) else False
    log_values, log = log, log is not False
    zeros = 0
    for k, col in enumerate(cols):
        stats = group_stats([setting, step], ys[col])
        dashed = len(cols) == 2 and k == 1 and layout.faceted
        for s in shown:
            got = series(stats, s)
            if got is None:
                continue
            xs, m = got
            st = dict(layout.style(s))
            if dashed:
                st["linestyle"] = "--"
            mean = m[:, 0]
            if log:
                zeros += zeros_at_floor(ax, xs, mean, st["color"])
                mean = np.where(mean > 0, mean, np.nan)
            ax.plot(xs, mean, lw=1.1 if dashed else 1.6, marker="o" if len(xs) <= 2 else None,
                    ms=4, **st)
            if len(exp.setting_runs[s]) > 1 and not dashed:
                ax.fill_between(xs, m[:, 1], m[:, 2], color=st["color"], alpha=0.12, lw=0)
    y_all = {c: t[f"{c}_{row}"].to_numpy() for c in cols}
    for r in diverged:
        i = last[r]
        color = layout.style(exp.runs.at[r, "setting"])["color"]
        finite = [c for c in cols if np.isfinite(y_all[c][i])]
        if row == "acc" and finite:
            ax.plot([step[i]], [y_all[finite[0]][i]], marker="x", ms=9, mew=2, color=color,
                    ls="none", zorder=5)
        else:  # the loss blew up: mark the step at the top of the panel
            ax.plot([step[i]], [0.96 if row == "loss" else 0.04], marker="x", ms=9, mew=2,
                    color=color, ls="none", zorder=5, transform=ax.get_xaxis_transform(),
                    clip_on=False)
    target_loss, target_acc = targets
    if row == "loss":
        if log:
            log_y(ax, log_values)
        if "train" in cols and isinstance(target_loss, (int, float)):
            ax.axhline(target_loss, color="0.3", ls=":", lw=1)
    else:
        if not layout.faceted:  # (small multiples clip their shared rows once all are drawn)
            lo, hi = ax.get_ylim()
            ax.set_ylim(max(lo, -0.02), min(hi, 1.02))
        if "train" in cols and isinstance(target_acc, (int, float)):
            ax.axhline(target_acc, color="0.3", ls=":", lw=1)
    step_axis(exp, ax, step)
    ax.grid(True, alpha=0.3)
    return zeros
