"""symmetry.png: are the neurons of a layer still identical? Distinct neurons, mean |cosine|
between neurons and the effective rank of the activations per hidden layer over steps
(symmetry.csv). Counts on linear axes from 0 to the layer width (dotted): "1 of 12" reads off the
axis."""

from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from .stats import MAX_LAYER_PANELS, MAX_SETTINGS, group_stats, pick_evenly, series
from .style import finish, new_figure, setting_handles, step_axis, title_for

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
    shown = exp.shown_settings(MAX_SETTINGS)
    exp.shown_note(shown, NAME)
    all_layers = sorted(set(layer.tolist()))
    layers = pick_evenly(all_layers, MAX_LAYER_PANELS)
    if len(layers) < len(all_layers):
        exp.notes.append(f"{NAME}: showing {len(layers)} of {len(all_layers)} hidden layers")
    fig = new_figure(3.6 * len(layers) + 0.4, 2.4 * len(QUANTITIES) + 0.7)
    axes = fig.subplots(len(QUANTITIES), len(layers), squeeze=False, sharex=True)
    for qi, (q, qlabel) in enumerate(QUANTITIES):
        stats = group_stats([setting, layer, step], t[q].to_numpy())
        for ci, l in enumerate(layers):
            ax = axes[qi][ci]
            for s in shown:
                got = series(stats, s, l)
                if got is None:
                    continue
                xs, m = got
                st = exp.style(s)
                ax.plot(xs, m[:, 0], lw=1.5, **st)
                if len(exp.setting_runs[s]) > 1:
                    ax.fill_between(xs, m[:, 1], m[:, 2], color=st["color"], alpha=0.12, lw=0)
            widths = sorted(set(width[layer == l].tolist()))
            if q in ("distinct_neurons", "act_effective_rank"):
                for w in widths:
                    ax.axhline(w, color="0.4", ls=":", lw=1)
                # a linear count axis: 1 (all neurons identical) and the width both read off it
                ax.set_ylim(0, 1.08 * max(widths, default=1))
                ax.yaxis.set_major_locator(MaxNLocator(6, integer=True))
            else:
                ax.set_ylim(-0.03, 1.03)
            if qi == 0:
                wtxt = ", ".join(str(w) for w in widths)
                ax.set_title(f"hidden layer {l} (width {wtxt})", fontsize=9.5)
            if ci == 0:
                ax.set_ylabel(qlabel)
            if qi == len(QUANTITIES) - 1:
                step_axis(exp, ax, step)
            ax.grid(True, alpha=0.3)
    handles = setting_handles(exp, shown, [(Line2D([], [], color="0.4", ls=":", lw=1),
                                            "layer width (all neurons distinct / full rank)")])
    title = title_for(exp, "symmetry breaking: are the neurons of a layer still identical?\n"
                           "(mean over seeds, band: min..max)")
    finish(exp, fig, NAME, title, handles)
    return None
