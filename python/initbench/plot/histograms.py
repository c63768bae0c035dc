"""hist_activation.png, hist_delta.png: per-layer histograms of a_l and dL/dz_l (histograms.csv).

One panel per layer, one row per setting (the first run of the setting that has histograms:
bins are chosen per run, so runs do not average), step 0 and the last histogram step overlaid.
"""

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
import numpy as np

from .stats import MAX_HIST_LAYERS, MAX_HIST_ROWS, pick_evenly
from .style import OKABE_ITO, finish, new_figure, title_for

COLORS = (OKABE_ITO[0], OKABE_ITO[1])


def draw(exp, quantity):
    name = f"hist_{quantity}.png"
    t = exp.histograms
    if t is None:
        return "no histograms.csv"
    if len(t) == 0:
        return "histograms.csv has no rows (probes.histograms is off)"
    t = t[t["quantity"] == quantity]
    if len(t) == 0:
        return f"histograms.csv has no '{quantity}' rows"
    present = set(t["run_id"].tolist())
    settings = [s for s in range(len(exp.setting_keys))
                if any(r in present for r in exp.setting_runs[s])]
    shown = pick_evenly(settings, MAX_HIST_ROWS)
    if len(shown) < len(settings):
        exp.notes.append(f"{name}: showing {len(shown)} of {len(settings)} settings")
    run_of = {s: next(r for r in exp.setting_runs[s] if r in present) for s in shown}
    all_layers = sorted(set(t["layer"].tolist()))
    layers = pick_evenly(all_layers, MAX_HIST_LAYERS)
    if len(layers) < len(all_layers):
        exp.notes.append(f"{name}: showing {len(layers)} of {len(all_layers)} layers")
    fig = new_figure(2.6 * len(layers) + 0.8, 2.2 * len(shown) + 0.7)
    axes = fig.subplots(len(shown), len(layers), squeeze=False)
    steps_used = set()
    for ri, s in enumerate(shown):
        r = run_of[s]
        rt = t[t["run_id"] == r]
        rsteps = sorted(set(rt["step"].tolist()))
        pair = [rsteps[0]] + ([rsteps[-1]] if len(rsteps) > 1 else [])
        steps_used.add(tuple(pair))
        for ci, l in enumerate(layers):
            ax = axes[ri][ci]
            _panel(ax, rt[rt["layer"] == l], pair, quantity)
            if ri == 0:
                ax.set_title(f"layer {l}" + (" (output)" if l == all_layers[-1] else ""),
                             fontsize=9)
            if ci == 0:
                seed = exp.runs.at[r, "seed"]
                ax.set_ylabel(f"{exp.labels[s]}\nseed {seed}\nfraction of entries", fontsize=7.5)
            if ri == len(shown) - 1:
                ax.set_xlabel("$a_l$ (output: $z_L$)" if quantity == "activation"
                              else "$\\partial L/\\partial z_l$", fontsize=8)
    first = sorted({p[0] for p in steps_used})
    last = sorted({p[-1] for p in steps_used if len(p) > 1})
    handles = ([Patch(facecolor=COLORS[0], alpha=0.35, edgecolor=COLORS[0])],
               [f"first histogram step (step {first[0]})" if len(first) == 1
                else "first histogram step of the run"])
    if last:
        handles[0].append(Line2D([], [], color=COLORS[1], lw=1.4))
        handles[1].append(f"last histogram step (step {last[0]})" if len(last) == 1
                          else "last histogram step of the run")
    what = ("activations $a_l$" if quantity == "activation" else
            "back-propagated gradients $\\partial L/\\partial z_l$ (log axis)")
    title = title_for(exp, f"histograms of {what} per layer\n(Glorot & Bengio 2010 "
                           f"fig. {6 if quantity == 'activation' else 7}; one run per setting)")
    finish(exp, fig, name, title, handles, 2)
    return None


def _panel(ax, lt, pair, quantity):
    """One run's histograms of one layer (lt: its rows) at the steps of pair."""
    outside = []
    for pi, st in enumerate(pair):
        h = lt[lt["step"] == st]
        if len(h) == 0:
            continue
        h = h.sort_values("bin_lo", kind="stable")
        blo, bhi, c = (h[col].to_numpy() for col in ("bin_lo", "bin_hi", "count"))
        total = c.sum()
        inner = np.isfinite(blo) & np.isfinite(bhi)
        if total <= 0 or not inner.any():
            continue
        frac = c[inner] / total
        edges = np.append(blo[inner], bhi[inner][-1])
        ax.stairs(frac, edges, color=COLORS[pi], lw=1.4, label=f"step {st}", fill=(pi == 0),
                  alpha=0.35 if pi == 0 else 1.0)
        if pi == 0:
            ax.stairs(frac, edges, color=COLORS[pi], lw=1.2)
        out = c[~inner].sum() / total
        if out > 0:
            outside.append(f"step {st}: {100 * out:.2g}% outside")
    if quantity == "delta":
        ax.set_yscale("log")
    if outside:
        ax.text(0.98, 0.97, "\n".join(outside), transform=ax.transAxes, ha="right", va="top",
                fontsize=6.5, bbox=dict(facecolor="white", alpha=0.7, lw=0, pad=1))
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
    ax.tick_params(labelsize=7)
    ax.xaxis.get_offset_text().set_fontsize(7)
