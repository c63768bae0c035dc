"""jacobian.png: singular values of the input-output Jacobian dz_L/dx (Pennington et al. 2017):
a histogram on a log axis and the sorted spectrum s_k, at step 0 and at the last Jacobian step
(jacobian.csv; all seeds and probe samples of a setting pooled). Singular values that are 0
(a zero-initialised layer) are marked at the floor of the log axis with their fraction. Past
MAX_LINES settings, small multiples of the distributions (facets.py): a row per value of the row
axis, a column per value of the column axis and step, the other axes as lines."""

import numpy as np

from .facets import Layout
from .stats import group_stats, series, wants_log
from .style import finish, log_y, new_figure, title_for, zero_handle, zeros_at_floor

NAME = "jacobian.png"


def draw(exp):
    t = exp.jacobian
    if t is None:
        return "no jacobian.csv"
    if len(t) == 0:
        return "jacobian.csv has no rows (probes.jacobian is off)"
    step, k, sv, setting = (t[c].to_numpy() for c in ("step", "k", "singular_value", "setting"))
    present = sorted(set(setting.tolist()))
    layout = Layout(exp, present)
    layout.note(NAME)
    shown = layout.settings
    sel = np.isin(setting, shown)
    all_steps = sorted(set(step[sel].tolist()))
    steps = [all_steps[0]] + ([all_steps[-1]] if len(all_steps) > 1 else [])
    pos = sv[sel & np.isfinite(sv) & (sv > 0) & np.isin(step, steps)]
    if pos.size == 0:
        return "jacobian.csv: every singular value is 0 or not finite"
    lo, hi = np.log10(pos.min()), np.log10(pos.max())
    if hi - lo < 0.2:
        lo, hi = lo - 0.1, hi + 0.1
    edges = np.logspace(lo, hi, int(np.clip(round(10 * (hi - lo)), 20, 80)) + 1)
    means = {}
    zeros = 0
    n_samples = t["sample"].nunique()
    arrow = " \u2192 ".join(f"step {st}" for st in steps)
    if not layout.faceted:
        rows = 2 if int(k.max()) > 1 else 1
        fig = new_figure(4.8 * len(steps) + 0.4, 3.1 * rows + 0.7)
        axes = fig.subplots(rows, len(steps), squeeze=False)
        for ci, st in enumerate(steps):
            at_step = sel & (step == st)
            zeros += _distribution(exp, layout, axes[0][ci], shown, setting, at_step, sv, edges,
                                   means, f"step {st}: distribution (dotted: mean)")
            if rows == 2:
                zeros += _spectrum(layout, axes[1][ci], shown, setting, at_step, k, sv, st)
        handles = layout.handles()
        handles[1][:] = [f"{exp.labels[s]}: mean $s$ " + " \u2192 ".join(means.get(s, ["-"]))
                         for s in shown]
        what = (f"{n_samples} probe samples per run, all seeds pooled; spectrum: mean and "
                f"min..max; legend: mean $s$ at {arrow}")
    else:  # small multiples of the distributions: (row, column) value pairs x steps
        nr, nc = layout.shape
        fig = new_figure(max(7.0, 3.3 * nc * len(steps) + 0.5), 2.5 * nr + 0.8)
        axes = fig.subplots(nr, nc * len(steps), squeeze=False, sharex=True, sharey=True)
        for fr in range(nr):
            for fc in range(nc):
                cell = layout.in_cell(fr, fc)
                for si, st in enumerate(steps):
                    ax = axes[fr][fc * len(steps) + si]
                    if not cell:
                        ax.set_axis_off()
                        continue
                    zeros += _distribution(exp, layout, ax, cell, setting, sel & (step == st),
                                           sv, edges, means,
                                           f"{layout.panel_title(fr, fc)}, step {st}", 8.5)
                    ax.set_ylabel("fraction per bin" if fc * len(steps) + si == 0 else "",
                                  fontsize=8.5)
                    if fr < nr - 1:
                        ax.set_xlabel("")
        handles = layout.handles()
        what = (f"{n_samples} probe samples per run, all seeds pooled; dotted: mean\n"
                f"{layout.describe()}")
    if zeros:
        handles[0].append(zero_handle()[0])
        handles[1].append("singular values 0: their fraction, drawn at the floor (log axis)")
    title = title_for(exp, "input-output Jacobian singular values (Pennington et al. 2017)\n"
                      + what)
    finish(exp, fig, NAME, title, handles)
    return None


def _distribution(exp, layout, ax, shown, setting, at_step, sv, edges, means, title,
                  title_size=10):
    """Histograms of the singular values at one step; each setting's mean joins means. The
    fraction of exact zeros (a log axis cannot show them) is marked at the left floor. Returns
    how many settings had zeros."""
    zeros = 0
    for s in shown:
        v = sv[at_step & (setting == s)]
        if v.size == 0:
            continue
        good = v[np.isfinite(v) & (v > 0)]
        sty = layout.style(s)
        if good.size:
            h, _ = np.histogram(good, bins=edges)
            ax.stairs(h / v.size, edges, lw=1.6, **sty)
            ax.axvline(np.mean(v), lw=0.8, color=sty["color"], ls=":")
        means.setdefault(s, []).append(f"{np.mean(v):.3g}")
        n_zero = int((v == 0).sum())
        if n_zero:
            zeros += zeros_at_floor(ax, [n_zero / v.size], [0.0], sty["color"], axis="x")
    ax.set_xscale("log")
    ax.set_xlabel("singular value $s$ of $\\partial z_L/\\partial x$")
    ax.set_ylabel("fraction of singular values per bin")
    ax.set_title(title, fontsize=title_size)
    ax.grid(True, alpha=0.3)
    return zeros


def _spectrum(layout, ax, shown, setting, at_step, k, sv, st):
    """The sorted spectrum s_k at one step: mean over seeds and samples, band min..max; means
    that are 0 marked at the floor of a log axis. Returns how many were."""
    log = wants_log(sv[at_step], 3)
    zeros = 0
    for s in shown:
        m = at_step & (setting == s)
        if not m.any():
            continue
        got = series(group_stats([k[m]], sv[m]))
        if got is None:
            continue
        xs, mm = got
        sty = layout.style(s)
        mean = mm[:, 0]
        if log:
            zeros += zeros_at_floor(ax, xs, mean, sty["color"])
            mean = np.where(mean > 0, mean, np.nan)
        ax.plot(xs, mean, marker="o", ms=3, lw=1.4, **sty)
        if m.sum() > len(xs):
            ax.fill_between(xs, mm[:, 1], mm[:, 2], color=sty["color"], alpha=0.12, lw=0)
    ax.axhline(1.0, color="0.4", ls=":", lw=1)
    if log:
        log_y(ax, sv[at_step])
    ax.set_xlabel("rank $k$ (1 = largest)")
    ax.set_ylabel("singular value $s_k$")
    ax.set_title(f"step {st}: sorted spectrum", fontsize=10)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, alpha=0.3)
    return zeros
