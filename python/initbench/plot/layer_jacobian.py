"""layer_jacobian.png: the mean singular value of each hidden layer's own Jacobian
J_l = diag(phi'(z_l)) W_l against l (layer_jacobian.csv; Glorot & Bengio 2010, section 4.2.2),
at step 0 (solid) and at the last step the file holds (dashed): mean over seeds and samples, band
min..max. A layer at 1 passes a signal on unchanged on average; below 1 it shrinks it. Past
MAX_LINES settings, small multiples (facets.py): a panel per (row, column) value pair, a line per
line value."""

from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from .facets import Layout
from .stats import group_stats, series
from .style import finish, new_figure, title_for

NAME = "layer_jacobian.png"


def draw(exp):
    t = exp.layer_jacobian
    if t is None:
        return "no layer_jacobian.csv"
    if len(t) == 0:
        return "layer_jacobian.csv has no rows (probes.layer_jacobian is off)"
    step, layer, setting = (t[c].to_numpy() for c in ("step", "layer", "setting"))
    first, last = int(step.min()), int(step.max())
    layout = Layout(exp)
    layout.note(NAME)
    nr, nc = layout.shape
    if layout.faceted:
        fig = new_figure(max(7.0, 3.4 * nc + 0.6), 2.6 * nr + 0.9)
    else:
        fig = new_figure(6.4, 4.2)
    axes = fig.subplots(nr, nc, squeeze=False, sharex=True, sharey=True)
    stats = group_stats([setting, step, layer], t["mean_singular_value"].to_numpy())
    steps = [first] if last == first else [first, last]
    for ri in range(nr):
        for ci in range(nc):
            ax = axes[ri][ci]
            cell = layout.in_cell(ri, ci)
            if not cell:
                ax.set_axis_off()
                continue
            for s in cell:
                for k, st_ in enumerate(steps):
                    got = series(stats, s, st_)
                    if got is None:
                        continue
                    xs, m = got
                    style = dict(layout.style(s))
                    style["linestyle"] = "-" if k == 0 else "--"
                    ax.plot(xs, m[:, 0], lw=1.5, marker="o", ms=3, **style)
                    ax.fill_between(xs, m[:, 1], m[:, 2], color=style["color"], alpha=0.12,
                                    lw=0)
            ax.axhline(1.0, color="0.4", ls=":", lw=1)
            ax.set_ylim(bottom=0)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if layout.faceted:
                ax.set_title(layout.panel_title(ri, ci), fontsize=8.5)
            if ci == 0:
                ax.set_ylabel("mean singular value\nof $D_l W_l$", fontsize=8.5)
            if ri == nr - 1:
                ax.set_xlabel("hidden layer $l$")
            ax.grid(True, alpha=0.3)
    extra = [(Line2D([], [], color="0.3", lw=1.5, ls="-"), f"step {first}")]
    if last != first:
        extra.append((Line2D([], [], color="0.3", lw=1.5, ls="--"), f"step {last}"))
    extra.append((Line2D([], [], color="0.4", ls=":", lw=1), "1: the signal kept"))
    what = ("each hidden layer's Jacobian $D_l W_l$: mean singular value\n"
            "(mean over seeds and samples, band: min..max)")
    if layout.faceted:
        what += f"\n{layout.describe()}"
    finish(exp, fig, NAME, title_for(exp, what), layout.handles(extra))
    return None
