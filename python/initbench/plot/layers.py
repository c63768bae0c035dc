"""layers.png: Glorot & Bengio (2010) style profiles across layers (layers.csv).

Per probe step shown (step 0 and up to three later ones): the std of the pre-activation z_l with
the C++ side's mean-field prediction sqrt(meanfield_preact_var) as a band beside it, the std of
the activation a_l, and the back-propagated gradient norm ||dL/dz_l||. Exact zeros on a log axis
(a zero-initialised network's gradients) are marked at the floor. Past MAX_LINES settings, small
multiples (facets.py): each quantity gets a row per value of the row axis, each value of the
column axis a column per step shown (the first and last probe steps, or the first alone past 40
panels). A row of panels shares its y range (and its log floor).
"""

from matplotlib.lines import Line2D
import numpy as np

from .facets import Layout
from .stats import LOG_DECADES, group_stats, pick_evenly, series, wants_log
from .style import finish, log_y, new_figure, title_for, zero_handle, zeros_at_floor

NAME = "layers.png"
QUANTITIES = [("preact_std", "std of pre-activation $z_l$"),
              ("act_std", "std of activation $a_l$"),
              ("delta_norm", "$\\|\\partial L/\\partial z_l\\|$ (Frobenius)")]


def pick_steps(steps, n=4):
    steps = sorted(set(steps))
    if len(steps) <= n:
        return steps
    return pick_evenly(steps, n)


def draw(exp):
    t = exp.layers
    if t is None:
        return "no layers.csv"
    if len(t) == 0:
        return "layers.csv has no rows (probes.every is 0)"
    step, layer, setting = (t[c].to_numpy() for c in ("step", "layer", "setting"))
    layout = Layout(exp)
    layout.note(NAME)
    shown = layout.settings
    sel = np.isin(setting, shown)
    nr, nc = layout.shape
    if not layout.faceted:
        steps = pick_steps(step[sel].tolist())
    else:  # small multiples: the first and last probe steps, or the first alone past 40 panels
        steps = pick_steps(step[sel].tolist(), 2 if nr * nc * len(QUANTITIES) * 2 <= 40 else 1)
    var = t["meanfield_preact_var"].to_numpy()
    mf = np.sqrt(np.where(var >= 0, var, np.nan))
    n_rows, n_cols = len(QUANTITIES) * nr, nc * len(steps)
    if layout.faceted:
        fig = new_figure(max(7.0, 3.0 * n_cols + 0.5), 2.0 * n_rows + 0.8)
    else:
        fig = new_figure(3.5 * n_cols + 0.4, 2.6 * n_rows + 0.7)
    axes = np.empty((n_rows, n_cols), dtype=object)
    max_layer = int(layer[sel].max())
    below_any = False
    zeros = 0
    for qi, (q, qlabel) in enumerate(QUANTITIES):
        y = t[q].to_numpy()
        stats = group_stats([setting, step, layer], y)
        mstats = group_stats([setting, step, layer], mf) if q == "preact_std" else None
        for fr in range(nr):
            # a row of panels (one row value) shares its y range and log floor: across
            # activations the scales can differ by ten decades (a ReLU stack at scale 4)
            row_sel = sel & np.isin(setting, [s for fc in range(nc)
                                              for s in layout.in_cell(fr, fc)])
            row_vals = [y[row_sel & (step == s)] for s in steps]
            if q == "preact_std":
                row_vals += [mf[row_sel & (step == s)] for s in steps]
            row_vals = np.concatenate(row_vals)
            log = wants_log(row_vals)
            floor = None
            if log:  # at most LOG_DECADES decades: rounding noise (a std of 1e-30) would
                # squash the rest
                pos = row_vals[np.isfinite(row_vals) & (row_vals > 0)]
                floor = max(pos.min(), pos.max() * 10.0 ** -LOG_DECADES)
            gr = qi * nr + fr
            first = None
            for fc in range(nc):
                cell = layout.in_cell(fr, fc)
                for si, s_step in enumerate(steps):
                    gc = fc * len(steps) + si
                    ax = fig.add_subplot(n_rows, n_cols, gr * n_cols + gc + 1,
                                         sharex=axes[0][0], sharey=first)
                    axes[gr][gc] = ax
                    first = first or ax
                    if not cell:
                        ax.set_axis_off()
                        continue
                    below, z = _panel(layout, ax, cell, s_step, stats, mstats, floor, max_layer)
                    below_any |= below
                    zeros += z
                    if log:  # laid out for the range shown, down to the floor
                        log_y(ax, np.append(row_vals[row_vals >= floor], floor / 2))
                    ax.grid(True, alpha=0.3)
                    if layout.faceted:
                        ax.set_title(f"{layout.panel_title(fr, fc)}, step {s_step}",
                                     fontsize=8.5)
                    elif gr == 0:
                        ax.set_title(f"step {s_step}", fontsize=10)
                    if gc == 0:
                        ax.set_ylabel(qlabel, fontsize=8.5 if layout.faceted else None)
                    else:
                        ax.tick_params(labelleft=False)
                    if gr == n_rows - 1:
                        ax.set_xlabel(f"layer $l$ (1 = first hidden, {max_layer} = output)")
                    else:
                        ax.tick_params(labelbottom=False)
                    ax.xaxis.get_major_locator().set_params(integer=True)
            if log and first is not None:  # once every panel sharing the range is drawn
                first.set_ylim(floor / 2, first.get_ylim()[1])
    extra = [(Line2D([], [], color="0.2", marker="o", ms=3.5, lw=1.5),
              "measured (mean over seeds)")]
    if below_any:
        extra.append((Line2D([], [], color="0.2", marker="v", ms=5, ls="none"),
                      f"below the axis (< 1e-{LOG_DECADES} \u00d7 the largest value of the row)"))
    if zeros:
        extra.append(zero_handle())
    if np.isfinite(mf[sel]).any():
        extra.append((Line2D([], [], color="0.2", ls="-", lw=5, alpha=0.25),
                      "mean-field prediction $\\sqrt{q_l}$ (meanfield_preact_var)"))
    what = ("signal across layers at initialization and during training\n"
            "(Glorot & Bengio 2010, figs. 6-7; mean over seeds)")
    if layout.faceted:
        what += f"\n{layout.describe()}"
    finish(exp, fig, NAME, title_for(exp, what), layout.handles(extra))
    return None


def _panel(layout, ax, shown, s_step, stats, mstats, floor, max_layer):
    """One step's profiles of one quantity; floor: the log axis' lower limit (None: linear).
    Returns whether a value below the floor was marked, and how many zeros were."""
    log = floor is not None
    below_any = False
    zeros = 0
    for s in shown:
        got = series(stats, s, s_step)
        if got is None:
            continue
        xs, m = got
        st = layout.style(s)
        ys = np.where(m[:, 0] >= floor, m[:, 0], np.nan) if log else m[:, 0]
        ax.plot(xs, ys, marker="o" if max_layer <= 12 else None, ms=3.5, lw=1.5, **st)
        if log:
            zeros += zeros_at_floor(ax, xs, m[:, 0], st["color"])
            below = (m[:, 0] > 0) & (m[:, 0] < floor)
            if below.any():
                below_any = True
                ax.plot(xs[below], np.full(below.sum(), floor / 2), ls="none", marker="v", ms=5,
                        color=st["color"], clip_on=False)
        got = series(mstats, s, s_step) if mstats is not None else None
        if got is not None:
            mx, mm = got
            ym = np.where(mm[:, 0] >= floor, mm[:, 0], np.nan) if log else mm[:, 0]
            # a wide translucent band under the measured line: no setting's line style (solid,
            # dashed, dotted, dash-dot) can be mistaken for it
            ax.plot(mx.tolist(), ym, lw=5, ls="-", color=st["color"], alpha=0.25,
                    solid_capstyle="round", zorder=1)
    return below_any, zeros
