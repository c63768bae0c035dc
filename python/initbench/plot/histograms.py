"""hist_activation.png, hist_delta.png: per-layer histograms of a_l and dL/dz_l (histograms.csv).

One panel per layer, one row per setting (the first run of the setting that has histograms:
bins are chosen per run, so runs do not average), step 0 and the last histogram step overlaid.
The hidden layers' panels share one x range (the union of the bins that hold entries), across
layers and rows: a layer whose activations or gradients vanish is a narrow spike beside the
layers that keep their spread, and a note gives its range. The output layer (logits z_L and
dL/dz_L = softmax - y, other quantities) has its own range, shared across rows. Only a row
whose range is more than OWN_RANGE times the median row's (a run whose values explode) keeps
its own range, and says so. Past MAX_HIST_ROWS settings, the settings split into the panels of
the line figures' small multiples (facets.py) and one row is drawn per panel: its setting with
the most layers (the deepest; the last in grid order among equals).
"""

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
import numpy as np

from .facets import Layout
from .stats import MAX_HIST_LAYERS, MAX_HIST_ROWS, pick_evenly
from .style import OKABE_ITO, finish, new_figure, title_for

COLORS = (OKABE_ITO[0], OKABE_ITO[1])
OWN_RANGE = 10.0


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
    run_of = {s: next(r for r in exp.setting_runs[s] if r in present) for s in settings}
    layout = Layout(exp, settings, MAX_HIST_ROWS)
    if layout.faceted:  # a row per panel of the grid: its deepest setting
        n_layers = t.groupby("run_id")["layer"].nunique()
        nr, nc = layout.shape
        cells = [layout.in_cell(fr, fc) for fr in range(nr) for fc in range(nc)]
        shown = [max(cell, key=lambda s: (n_layers[run_of[s]], s)) for cell in cells if cell]
        shown = pick_evenly(shown, MAX_HIST_ROWS)
        exp.notes.append(f"{name}: one row per value of ({layout.facet_axis_names()}), its "
                         f"setting with the most layers: {len(shown)} of {len(settings)} "
                         f"settings")
    else:
        shown = pick_evenly(settings, MAX_HIST_ROWS)
        if len(shown) < len(settings):
            exp.notes.append(f"{name}: showing {len(shown)} of {len(settings)} settings")
    all_layers = sorted(set(t["layer"].tolist()))
    layers = pick_evenly(all_layers, MAX_HIST_LAYERS)
    if len(layers) < len(all_layers):
        exp.notes.append(f"{name}: showing {len(layers)} of {len(all_layers)} layers")
    pairs = {}
    for s in shown:
        rsteps = sorted(set(t.loc[t["run_id"] == run_of[s], "step"].tolist()))
        pairs[s] = [rsteps[0]] + ([rsteps[-1]] if len(rsteps) > 1 else [])
    # the output layer (logits z_L, dL/dz_L = softmax - y) is another quantity than the hidden
    # layers': it gets its own range, shared across rows
    out_layer = t.groupby("run_id")["layer"].max()
    hidden = {s: [l for l in layers if l < out_layer[run_of[s]]] for s in shown}
    output = {s: [l for l in layers if l == out_layer[run_of[s]]] for s in shown}
    xlims_h, own_h = row_ranges(t, shown, run_of, hidden, pairs)
    xlims_o, own_o = row_ranges(t, shown, run_of, output, pairs)
    own = sorted(set(own_h) | set(own_o))
    xlim = lambda s, l: (xlims_o if l == out_layer[run_of[s]] else xlims_h)[s]  # noqa: E731
    fig = new_figure(2.6 * len(layers) + 0.8, 2.2 * len(shown) + 0.7)
    axes = fig.subplots(len(shown), len(layers), squeeze=False)
    steps_used = set()
    for ri, s in enumerate(shown):
        r = run_of[s]
        rt = t[t["run_id"] == r]
        pair = pairs[s]
        steps_used.add(tuple(pair))
        for ci, l in enumerate(layers):
            ax = axes[ri][ci]
            _panel(ax, rt[rt["layer"] == l], pair, quantity, xlim(s, l))
            if xlim(s, l) is not None:
                ax.set_xlim(*xlim(s, l))
            if ri < len(shown) - 1 and xlim(shown[ri + 1], l) == xlim(s, l):
                ax.tick_params(labelbottom=False)
            if ri == 0:
                ax.set_title(f"layer {l}" + (" (output)" if l == all_layers[-1] else ""),
                             fontsize=9)
            if ci == 0:
                seed = exp.runs.at[r, "seed"]
                mark = "\n(its own x range)" if s in own else ""
                ax.set_ylabel(f"{exp.labels[s]}\nseed {seed}{mark}\nfraction of entries",
                              fontsize=7.5)
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
            "back-propagated gradients $\\partial L/\\partial z_l$ (log count axis)")
    shared = "one x range for the hidden layers, one for the output layer"
    if own:
        shared += f" ({len(own)} row{'s' if len(own) > 1 else ''} over {OWN_RANGE:g}x wider: " \
                  f"{'their' if len(own) > 1 else 'its'} own)"
    title = title_for(exp, f"histograms of {what} per layer, one run per setting\n{shared}\n"
                           f"(Glorot & Bengio 2010 fig. {6 if quantity == 'activation' else 7})")
    finish(exp, fig, name, title, handles, 2)
    return None


def row_ranges(t, shown, run_of, layers_of, pairs):
    """The x range of each row (setting), and the rows that keep their own: one range for all
    rows, but a row whose own range is more than OWN_RANGE times the median row's keeps its own
    (a run whose values explode would squash every other row into a spike; rows whose values
    vanish are what the shared range is for)."""
    own = {s: shared_range(t, {run_of[s]: layers_of[s]}, {run_of[s]: pairs[s]}) for s in shown}
    widths = [hi - lo for lo, hi in (r for r in own.values() if r is not None) if hi > lo]
    if not widths:
        return {s: _widen(own[s]) for s in shown}, []
    median = float(np.median(widths))
    wide = {s for s, r in own.items() if r is not None and r[1] - r[0] > OWN_RANGE * median}
    rest = [s for s in shown if s not in wide]
    common = shared_range(t, {run_of[s]: layers_of[s] for s in rest},
                          {run_of[s]: pairs[s] for s in rest}) if rest else None
    return {s: _widen(own[s] if s in wide else common) for s in shown}, sorted(wide)


def shared_range(t, layers_of, steps_of):
    """The x range panels share: across layers and across the runs compared, so that a layer
    whose values vanish shows as a narrow spike, not as a histogram stretched over its own bins.
    It is the union of the bins that hold entries, over the histograms of the runs (the keys of
    layers_of) at their layers and steps (steps_of); a histogram with every entry in one bin (a
    point mass, e.g. the zeros of a zero-initialised layer, in a bin as wide as the run's default
    range) adds only that bin's lower edge (lo == hi when there are only such). None without a
    finite bin."""
    d = t[t["run_id"].isin(list(layers_of))]
    d = d[[l in layers_of[r] and st in steps_of[r] for r, l, st in
           zip(d["run_id"].tolist(), d["layer"].tolist(), d["step"].tolist())]]
    d = d[np.isfinite(d["bin_lo"].to_numpy()) & np.isfinite(d["bin_hi"].to_numpy())]
    if len(d) == 0:
        return None
    full = d[d["count"] > 0]
    if len(full) == 0:
        lo, hi = float(d["bin_lo"].min()), float(d["bin_hi"].max())
    else:
        n_full = full.groupby(["run_id", "layer", "step"])["count"].transform("size")
        spread = full[n_full.to_numpy() > 1]
        points = full[n_full.to_numpy() == 1]["bin_lo"].to_numpy()
        los = np.concatenate([spread["bin_lo"].to_numpy(), points])
        his = np.concatenate([spread["bin_hi"].to_numpy(), points])
        lo, hi = float(los.min()), float(his.max())
    return lo, hi


def _widen(r):
    """A range to draw: point masses alone (lo == hi) get a unit range around them."""
    if r is None or r[1] > r[0]:
        return r
    return r[0] - 0.5, r[1] + 0.5


def _panel(ax, lt, pair, quantity, xlim):
    """One run's histograms of one layer (lt: its rows) at the steps of pair; xlim: the
    figure's x range (a note names the range of the layer's entries when it is under 5% of
    it)."""
    outside = []
    spans = []
    points = {}  # one wide bin holding every entry: the bin -> its steps
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
        full = np.nonzero(c[inner] > 0)[0]
        if full.size:
            spans.append((edges[full[0]], edges[full[-1] + 1]))
        if full.size == 1 and xlim is not None and \
                edges[full[0] + 1] - edges[full[0]] > 0.02 * (xlim[1] - xlim[0]):
            # a point mass in one wide bin: a spike at the bin's lower edge, not a wide box
            b = full[0]
            points.setdefault(f"[{edges[b]:.2g}, {edges[b + 1]:.2g})", []).append(str(st))
            frac = frac[b:b + 1]
            edges = np.array([edges[b], edges[b] + 0.01 * (xlim[1] - xlim[0])])
        ax.stairs(frac, edges, color=COLORS[pi], lw=1.4, label=f"step {st}", fill=(pi == 0),
                  alpha=0.35 if pi == 0 else 1.0)
        if pi == 0:
            ax.stairs(frac, edges, color=COLORS[pi], lw=1.2)
        out = c[~inner].sum() / total
        if out > 0:
            pct = 100 * out  # 2 digits, 3 from 99.5 on (.2g prints 100 as 1e+02)
            outside.append(f"step {st}: {pct:.2g}% outside" if pct < 99.5 else
                           f"step {st}: {pct:.3g}% outside")
    if quantity == "delta":
        ax.set_yscale("log")
    notes = [f"step{'s' if len(v) > 1 else ''} {', '.join(v)}: all in one bin {k}"
             for k, v in points.items()] + outside
    if spans and xlim is not None and not points:
        lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
        if hi - lo < 0.05 * (xlim[1] - xlim[0]):
            notes.append(f"all in [{lo:.2g}, {hi:.2g}]")
    if notes:
        ax.text(0.98, 0.97, "\n".join(notes), transform=ax.transAxes, ha="right", va="top",
                fontsize=6.5, bbox=dict(facecolor="white", alpha=0.7, lw=0, pad=1))
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
    ax.tick_params(labelsize=7)
    ax.xaxis.get_offset_text().set_fontsize(7)
