"""symmetry.png: are the neurons of a layer still identical? Distinct neurons, mean |cosine|
between neurons and the effective rank of the activations per hidden layer over steps
(symmetry.csv). Counts on linear axes from 0 to the layer width (dotted): "1 of 12" reads off the
axis. Past MAX_LINES settings, small multiples (facets.py): each quantity gets a row per value of
the row axis and a column per value of the column axis, the hidden layers as line styles."""

from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
import numpy as np

from .facets import Layout
from .stats import MAX_LAYER_PANELS, group_stats, pick_evenly, series
from .style import LINESTYLES, finish, new_figure, step_axis, title_for

NAME = "symmetry.png"
QUANTITIES = [("distinct_neurons", "distinct neurons\n(count)"),
              ("mean_abs_cosine", "mean |cosine|\nbetween neurons"),
              ("act_effective_rank", "effective rank\nof $a_l$")]


def draw(exp):
    t = exp.symmetry
    if t is None:
        return "no symmetry.csv"
    if len(t) == 0:
        return "symmetry.csv has no rows (probes.symmetry is off)"
    step, layer, width, setting = (t[c].to_numpy() for c in ("step", "layer", "width",
                                                             "setting"))
    layout = Layout(exp)
    layout.note(NAME)
    all_layers = sorted(set(layer.tolist()))
    layers = pick_evenly(all_layers, MAX_LAYER_PANELS)
    if len(layers) < len(all_layers):
        exp.notes.append(f"{NAME}: showing {len(layers)} of {len(all_layers)} hidden layers")
    nr, nc = layout.shape
    if layout.faceted:  # a panel per (row, column) value pair, the layers as line styles
        panels = [(fr, fc, None) for fr in range(nr) for fc in range(nc)]
        n_rows, n_cols = len(QUANTITIES) * nr, nc
        fig = new_figure(max(7.0, 3.2 * n_cols + 0.6), 2.0 * n_rows + 0.8)
    else:  # a panel per hidden layer
        panels = [(0, 0, l) for l in layers]
        n_rows, n_cols = len(QUANTITIES), len(layers)
        fig = new_figure(3.6 * n_cols + 0.4, 2.4 * n_rows + 0.7)
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=True)
    for qi, (q, qlabel) in enumerate(QUANTITIES):
        stats = group_stats([setting, layer, step], t[q].to_numpy())
        for fr, fc, only in panels:
            gr, gc = qi * nr + fr, (fc if layout.faceted else layers.index(only))
            ax = axes[gr][gc]
            cell = layout.in_cell(fr, fc)
            if not cell:
                ax.set_axis_off()
                continue
            drawn = layers if only is None else [only]
            for li, l in enumerate(drawn):
                for s in cell:
                    got = series(stats, s, l)
                    if got is None:
                        continue
                    xs, m = got
                    st = dict(layout.style(s))
                    if only is None:
                        st["linestyle"] = LINESTYLES[li % len(LINESTYLES)]
                    ax.plot(xs, m[:, 0], lw=1.5, **st)
                    if len(exp.setting_runs[s]) > 1:
                        ax.fill_between(xs, m[:, 1], m[:, 2], color=st["color"], alpha=0.12,
                                        lw=0)
            widths = sorted(set(width[np.isin(layer, drawn) & np.isin(setting, cell)].tolist()))
            if q in ("distinct_neurons", "act_effective_rank"):
                for w in widths:
                    ax.axhline(w, color="0.4", ls=":", lw=1)
                # a linear count axis: 1 (all neurons identical) and the width both read off it
                ax.set_ylim(0, 1.08 * max(widths, default=1))
                ax.yaxis.set_major_locator(MaxNLocator(6, integer=True))
            else:
                ax.set_ylim(-0.03, 1.03)
            wtxt = ", ".join(str(w) for w in widths)
            if layout.faceted:
                ax.set_title(f"{layout.panel_title(fr, fc)} (width {wtxt})", fontsize=8.5)
            elif qi == 0:
                ax.set_title(f"hidden layer {only} (width {wtxt})", fontsize=9.5)
            if gc == 0:
                ax.set_ylabel(qlabel, fontsize=8.5 if layout.faceted else None)
            if gr == n_rows - 1:
                step_axis(exp, ax, step)
            ax.grid(True, alpha=0.3)
    extra = []
    if layout.faceted:
        extra += [(Line2D([], [], color="0.3", lw=1.5, ls=LINESTYLES[li % len(LINESTYLES)]),
                   f"hidden layer {l}") for li, l in enumerate(layers)]
    extra.append((Line2D([], [], color="0.4", ls=":", lw=1),
                  "layer width (all neurons distinct / full rank)"))
    what = ("symmetry breaking: are the neurons of a layer still identical?\n"
            "(mean over seeds, band: min..max)")
    if layout.faceted:
        what += f"\n{layout.describe()}; line styles: hidden layers"
    finish(exp, fig, NAME, title_for(exp, what), layout.handles(extra))
    return None
