"""heatmap.png: two-axis grids (runs.csv's final metrics, mean over seeds per cell).

Any two numeric grid axes besides seed (model.depth as y when it is one; as x an init.scale axis
or a scheme axis with one numeric parameter when there is one), colour = mean final train / test
accuracy (final train loss for linear outputs). Other varying axes make one row each. The 6 xi_c
curve (meanfield.py) is drawn when every run of the panel has tanh hidden units, the y axis is
model.depth and the x axis is init.scale or a scheme parameter.
"""

from matplotlib import colormaps
import matplotlib.colors as mcolors
import matplotlib.patheffects as pe
import numpy as np

from .meanfield import overlay_curve, to_position
from .stats import MAX_FACETS, group_stats, pick_evenly
from .style import finish, new_figure, title_for

NAME = "heatmap.png"


def is_depth(a):
    return a.name in ("model.depth", "depth")


def is_sw2(a):
    return a.name == "init.scale" or a.param is not None


def metric_label(metric):
    return metric.replace("final_", "final ").replace("_acc", " accuracy").replace("_", " ")


def draw(exp):
    axes = [(j, a) for j, a in enumerate(exp.axes) if a.varies and a.name != "seed"]

    def distinct(dims):
        return len({tuple(key[j] for j, _ in dims) for key in exp.setting_keys})
    # An axis whose value follows from the others (a zipped partner: glorot2010's train.lr, one
    # rate per setting) spans no grid of its own: it is no heatmap axis.
    crossed = [d for d in axes if distinct([x for x in axes if x[0] != d[0]]) < distinct(axes)]
    numeric = [(j, a) for j, a in crossed if a.numeric is not None]
    if len(numeric) < 2:
        return "needs two numeric grid axes besides seed, crossed with the others"
    yj, ya = next((d for d in numeric if is_depth(d[1])), numeric[1])
    rest = [d for d in numeric if d[0] != yj]
    xj, xa = next((d for d in rest if is_sw2(d[1])), rest[0])
    facet_dims = [d for d in axes if d[0] not in (xj, yj)]
    xvals, yvals = sorted(set(xa.numeric)), sorted(set(ya.numeric))
    xnum, ynum = dict(zip(xa.values, xa.numeric)), dict(zip(ya.values, ya.numeric))
    runs = exp.runs.copy()
    runs["xv"] = [xnum[k[xj]] for k in runs["key"]]
    runs["yv"] = [ynum[k[yj]] for k in runs["key"]]
    runs["xi"] = [xvals.index(v) for v in runs["xv"]]
    runs["yi"] = [yvals.index(v) for v in runs["yv"]]
    runs["facet"] = [tuple(k[j] for j, _ in facet_dims) for k in runs["key"]]
    facets = list(dict.fromkeys(k for k in (tuple(key[j] for j, _ in facet_dims)
                                            for key in exp.setting_keys)))
    shown_facets = pick_evenly(facets, MAX_FACETS)
    if len(shown_facets) < len(facets):
        exp.notes.append(f"{NAME}: showing {len(shown_facets)} of {len(facets)} "
                         f"combinations of the other axes")
    metrics = [m for m in ("final_train_acc", "final_test_acc")
               if np.isfinite(runs[m].to_numpy()).any()]
    loss_metric = not metrics
    if loss_metric:
        metrics = ["final_train_loss"]
    nx, ny = len(xvals), len(yvals)
    cell_w = max(0.45, min(0.9, 6.0 / nx))
    cell_h = max(0.35, min(0.6, 4.0 / ny))
    panel_w, panel_h = max(4.6, nx * cell_w + 1.8), max(3.2, ny * cell_h + 1.5)
    fig = new_figure(panel_w * len(metrics) + 0.3, panel_h * len(shown_facets) + 0.5)
    sub = fig.subplots(len(shown_facets), len(metrics), squeeze=False)
    overlay_notes = []
    drew_overlay = False
    for fi, fkey in enumerate(shown_facets):
        fruns = runs[runs["facet"].map(lambda k: k == fkey)]
        curve = None
        if not is_depth(ya):
            reason = "the y axis is not model.depth"
        elif (fruns["activation"] != "tanh").any():
            reason = "the hidden activation is not tanh"
        else:
            schemes = sorted(set(fruns["scheme"]))
            curve, reason = overlay_curve(fruns, xa, xvals, schemes)
        if curve is None:
            overlay_notes.append(reason)
        ftitle = ", ".join(exp.axes[j].short(v) for (j, _), v in zip(facet_dims, fkey))
        for mi, metric in enumerate(metrics):
            ax = sub[fi][mi]
            _panel(fig, ax, fruns, metric, loss_metric, nx, ny)
            ax.set_xticks(range(nx))
            ax.set_xticklabels([f"{v:g}" for v in xvals], fontsize=7.5,
                               rotation=45 if nx > 8 else 0)
            ax.set_yticks(range(ny))
            ax.set_yticklabels([f"{v:g}" for v in yvals], fontsize=7.5)
            ax.set_xlabel(xa.label(), fontsize=8)
            ax.set_ylabel(ya.label() + (" (hidden layers)" if is_depth(ya) else ""), fontsize=8)
            ax.set_title((ftitle + "\n" if ftitle else "") + metric_label(metric), fontsize=9)
            if curve is not None:
                _overlay(ax, curve, yvals, nx, ny)
                drew_overlay = True
    for reason in sorted(set(overlay_notes)):
        exp.notes.append(f"{NAME}: no 6 xi_c overlay: {reason}")
    what = "final loss" if loss_metric else "final accuracy"
    extra = ";\ndashed: 6 $\\xi_c$, the trainable depth of Schoenholz et al. 2017)" \
        if drew_overlay else ")"
    title = title_for(exp, f"{what} over the grid\n(mean over seeds; grey: no finite value"
                           f"{extra}")
    finish(exp, fig, NAME, title)
    return None


def _panel(fig, ax, fruns, metric, loss_metric, nx, ny):
    """The cells of one metric: colour, colour bar, and the value (and divergences) as text."""
    cmap = colormaps["viridis"].copy()
    cmap.set_bad("0.82")
    Z = np.full((ny, nx), np.nan)
    div = np.zeros((ny, nx), dtype=int)
    tot = np.zeros((ny, nx), dtype=int)
    yi, xi = fruns["yi"].to_numpy(), fruns["xi"].to_numpy()
    stats = group_stats([yi, xi], fruns[metric].to_numpy())
    for (y, x), mean in stats["mean"].items():
        Z[y, x] = mean
    cells = fruns.assign(div=fruns["status"] == "diverged").groupby(["yi", "xi"])["div"]
    for (y, x), d in cells.sum().items():
        div[y, x] = d
    for (y, x), n in cells.size().items():
        tot[y, x] = n
    if loss_metric:
        finite = Z[np.isfinite(Z) & (Z > 0)]
        norm = mcolors.LogNorm(finite.min(), finite.max()) if finite.size and \
            finite.max() > finite.min() else None
        im = ax.imshow(np.ma.masked_invalid(Z), origin="lower", aspect="auto",
                       cmap=cmap.reversed(), norm=norm, interpolation="nearest")
    else:
        im = ax.imshow(np.ma.masked_invalid(Z), origin="lower", aspect="auto", cmap=cmap,
                       vmin=0, vmax=1, interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, fraction=0.06, pad=0.03)
    cb.set_label("mean " + metric_label(metric) + (" (fraction)" if not loss_metric else ""),
                 fontsize=8)
    cb.ax.tick_params(labelsize=7)
    if nx > 14 or ny > 14:
        return
    for y in range(ny):
        for x in range(nx):
            if tot[y, x] == 0:
                continue
            txt = "n/a" if not np.isfinite(Z[y, x]) else f"{Z[y, x]:.2f}"
            if div[y, x]:
                txt += f"\n{div[y, x]}/{tot[y, x]} div"
            rgba = im.cmap(im.norm(Z[y, x])) if np.isfinite(Z[y, x]) else (0.82, 0.82, 0.82, 1)
            lum = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
            ax.text(x, y, txt, ha="center", va="center", fontsize=6.5,
                    color="black" if lum > 0.5 else "white")


def _overlay(ax, curve, yvals, nx, ny):
    px, cy, sb2, xlabel = curve
    ax.plot(px, to_position(yvals, cy), color="white", lw=2, ls="--",
            path_effects=[pe.Stroke(linewidth=3.5, foreground="black"), pe.Normal()])
    ax.set_xlim(-0.5, nx - 0.5)
    ax.set_ylim(-0.5, ny - 0.5)
    ax.set_title(ax.get_title() + f"\ndashed: 6 $\\xi_c$ ($\\sigma_b^2$ = {sb2:.3g})",
                 fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
