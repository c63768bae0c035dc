"""correlation.png: how the layers of a random network see two inputs (correlation.csv), against
the mean-field correlation map of Poole et al. 2016 / Schoenholz et al. 2017.

correlation.csv gives, for the sample pairs (0, 1), (2, 3), ... of the probe batch and every layer
l = 0 (inputs) .. L, the mean squares q_a, q_b of the two pre-activation vectors and their
correlation c_l. The figure uses the hidden layers l = 1..depth (the output layer, 10 units or
one, is left out) of the deepest runs of each line, where a line is a combination of the grid
axes other than seed, model.depth and train.* (in edge_of_chaos: one line per sw2); at step 0 a
seed counts once (runs that differ only in the training budget start from the same weights).

Theory (tanh hidden units; sigma_w2, sigma_b2 and xi_c from runs.csv, the C++ side's values):
  * per pair, the mean-field map of the 2 x 2 second moments (q_a, q_b, q_ab) iterated from the
    measured layer 1: q_a' = sw2 E[tanh(u_a)^2] + sb2, q_ab' = sw2 E[tanh(u_a) tanh(u_b)] + sb2
    with (u_a, u_b) Gaussian of those moments (41 x 41 Gauss-Hermite nodes); the theory curve is
    its c_l = q_ab / sqrt(q_a q_b) averaged over the same pairs;
  * c* the stable fixed point of the correlation map at q*, c -> (sw2 E[tanh(u1) tanh(u2)] + sb2)
    / q* ((u1, u2) of variance q* and correlation c): 1 in the ordered phase (chi_1 < 1), below
    1 in the chaotic phase;
  * |c_l - c*| ~ exp(-l / xi_c) deep in the network.
Measured (analyse()): c* = the mean of c_l over the deepest third of the hidden layers, pairs and
seeds (with the standard deviation over pairs there: the finite-width noise of one pair); the
decay length = -1 / slope of a least-squares line through ln |mean over pairs of c_l - c*|
against l, from layer 1 to the last layer where it is still above 3 times its deep-layer value
(the noise floor), at least 3 layers; the theory curve gets the same fit (its length differs
from xi_c while the map is still non-linear, far from c*). The mean over pairs comes first: one
pair's c_l at width 100 scatters by about 0.2 around c* in the chaotic phase, which would bury
a per-pair |c_l - c*| at once; the mean's scatter is that over sqrt(pairs).

Panels: c_l at step 0 (measured mean over pairs and seeds, band 10th..90th percentile over pairs;
theory dashed, c* dotted); |mean c_l - c*| at step 0 on a log axis (theory dashed). Later probe
steps (trained weights are no longer random) are not drawn.
"""

import math

import numpy as np
from matplotlib.lines import Line2D
from numpy.polynomial.hermite_e import hermegauss

from .stats import MAX_SETTINGS, pick_evenly
from .style import finish, log_y, new_figure, style, title_for, zero_handle, zeros_at_floor

NAME = "correlation.png"
NODES = 41
DEEP_FRACTION = 1.0 / 3.0  # the deepest third of the hidden layers gives the measured c*
FLOOR_FACTOR = 3.0         # the decay fit stops where mean |c_l - c*| nears the noise floor
MIN_FIT_LAYERS = 3

_GH = []


def _nodes():
    if not _GH:
        z, w = hermegauss(NODES)
        w = w / math.sqrt(2 * math.pi)
        z1, z2 = np.meshgrid(z, z, indexing="ij")
        _GH.append((z, w, z1, z2, np.outer(w, w)))
    return _GH[0]


def q_star(sw2, sb2):
    """The fixed point of q -> sw2 E[tanh(z)^2] + sb2, z ~ N(0, q) (iterated from q = 1)."""
    z, w, _, _, _ = _nodes()
    q = 1.0
    for _ in range(10000):
        nq = sw2 * float(np.dot(w, np.tanh(math.sqrt(q) * z) ** 2)) + sb2
        if abs(nq - q) <= 1e-14 * max(q, 1e-300):
            return nq
        q = nq
    return q


def c_map(c, q, sw2, sb2):
    """Poole et al.'s correlation map at variance q: (sw2 E[tanh(u1) tanh(u2)] + sb2) / q."""
    _, _, z1, z2, w2 = _nodes()
    s = math.sqrt(q)
    u1 = s * z1
    u2 = s * (c * z1 + math.sqrt(max(0.0, 1.0 - c * c)) * z2)
    return (sw2 * float(np.sum(w2 * np.tanh(u1) * np.tanh(u2))) + sb2) / q


def c_star(sw2, sb2):
    """The stable fixed point of the correlation map at q*: 1 when c = 1 is stable (chi_1 <= 1),
    else the root below 1 found by bisection on [0, 1)."""
    z, w, _, _, _ = _nodes()
    q = q_star(sw2, sb2)
    chi1 = sw2 * float(np.dot(w, (1 - np.tanh(math.sqrt(q) * z) ** 2) ** 2))
    if chi1 <= 1.0 or q <= 0:
        return 1.0
    lo, hi = 0.0, 1.0 - 1e-9
    if c_map(lo, q, sw2, sb2) - lo < 0:  # no root in [0, 1): search below 0
        lo = -1.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if c_map(mid, q, sw2, sb2) - mid >= 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def iterate_pairs(qa, qb, qab, layers, sw2, sb2):
    """The mean-field map of the second moments of P pairs, from layer 1's (arrays of P) through
    `layers` layers in all: c_l of shape (layers, P), row 0 = layer 1's."""
    _, _, z1, z2, w2 = _nodes()
    qa, qb, qab = (np.asarray(v, dtype=float).copy() for v in (qa, qb, qab))
    out = np.empty((layers, qa.size))
    for i in range(layers):
        c = np.clip(qab / np.sqrt(qa * qb), -1.0, 1.0)
        out[i] = c
        if i == layers - 1:
            break
        sa, sb = np.sqrt(qa)[:, None, None], np.sqrt(qb)[:, None, None]
        cc = c[:, None, None]
        ta = np.tanh(sa * z1)
        tb = np.tanh(sb * (cc * z1 + np.sqrt(1.0 - cc * cc) * z2))
        qa = sw2 * np.sum(w2 * ta * ta, axis=(1, 2)) + sb2
        qb = sw2 * np.sum(w2 * tb * tb, axis=(1, 2)) + sb2
        qab = sw2 * np.sum(w2 * ta * tb, axis=(1, 2)) + sb2
    return out


def decay_length(dev, floor):
    """-1 / slope of ln(dev_l) over l = 1.. up to the last layer above FLOOR_FACTOR * floor
    (dev: mean |c_l - c*| per layer, layer 1 first); (length, layers fitted) or (nan, n)."""
    dev = np.asarray(dev, dtype=float)
    above = np.isfinite(dev) & (dev > FLOOR_FACTOR * floor) & (dev > 0)
    n = 0
    while n < dev.size and above[n]:
        n += 1
    if n < MIN_FIT_LAYERS:
        return math.nan, n
    layers = np.arange(1, n + 1, dtype=float)
    slope = np.polyfit(layers, np.log(dev[:n]), 1)[0]
    return (-1.0 / slope if slope < 0 else math.inf), n


def _lines(exp):
    """Line key (axis values other than seed, model.depth and train.*) per run, the lines in
    grid order, and the axes that make the key."""
    others = [a.name for a in exp.axes
              if a.varies and a.name != "seed" and a.name != "model.depth"
              and not a.name.startswith("train.")]
    runs = exp.runs
    keys = list(runs[["axis:" + n for n in others]].itertuples(index=False, name=None)) \
        if others else [()] * len(runs)
    return keys, list(dict.fromkeys(keys)), others


def _label(exp, names, key):
    if not key:
        return exp.name
    parts = []
    for n, v in zip(names, key):
        a = next(a for a in exp.axes if a.name == n)
        parts.append(f"{a.param}={v.split(a.param + '=')[1].split(',')[0].rstrip(')')}"
                     if a.param else a.short(v))
    return ", ".join(parts)


def analyse(exp):
    """Per line, at step 0 (deepest runs, one run per seed): a dict with label, depth, seeds,
    pairs, layers (1..depth), measured (mean c_l), p10, p90, dev (|mean c_l - c*| with the
    theory's c*, else the measured c*), and, where the runs are tanh with the theory columns,
    sw2, sb2, xi_c (runs.csv), c_star_theory, theory (mean c_l of the map), theory_dev; measured
    c_star, its spread over pairs (c_star_std) and standard error (c_star_sem, over the
    pairs x seeds, each pair's deep-layer mean counted once), decay (measured) and
    theory_decay with the layers fitted. Lines without step-0 rows are left out."""
    t = exp.correlation
    runs = exp.runs
    depth = exp.tables["runs.csv"].ints("depth")
    depth_of = dict(zip(exp.tables["runs.csv"].ints("run_id").tolist(), depth.tolist()))
    keys, lines, names = _lines(exp)
    key_of = dict(zip(runs.index.tolist(), keys))
    t0 = t[t["step"] == 0]
    have = set(t0["run_id"].unique().tolist())
    out = []
    for key in lines:
        ids = [i for i in runs.index if key_of[i] == key and i in have]
        if not ids:
            continue
        deepest = max(depth_of[i] for i in ids)
        chosen, seeds = [], set()
        for i in ids:  # grid order: the first run of each seed at the deepest depth
            if depth_of[i] == deepest and runs.at[i, "seed"] not in seeds:
                seeds.add(runs.at[i, "seed"])
                chosen.append(i)
        rows = t0[t0["run_id"].isin(chosen) & (t0["layer"] >= 1) & (t0["layer"] <= deepest)]
        if rows.empty:
            continue
        # c[l - 1, j]: layer l of the j-th (run, pair)
        piv = rows.pivot_table(index="layer", columns=["run_id", "pair"], values="correlation")
        c = piv.to_numpy()
        res = dict(key=key, label=_label(exp, names, key), depth=deepest, seeds=len(chosen),
                   pairs=c.shape[1], layers=piv.index.to_numpy(), measured=np.nanmean(c, axis=1),
                   p10=np.nanpercentile(c, 10, axis=1), p90=np.nanpercentile(c, 90, axis=1))
        deep = res["layers"] > deepest * (1 - DEEP_FRACTION)
        per_pair = np.nanmean(c[deep], axis=0)
        res["c_star"] = float(np.nanmean(per_pair))
        res["deep_layers"] = (int(res["layers"][deep][0]), int(res["layers"][deep][-1]))
        res["c_star_std"] = float(np.nanstd(c[deep], ddof=1)) if c[deep].size > 1 else math.nan
        res["c_star_sem"] = float(np.nanstd(per_pair, ddof=1) / math.sqrt(per_pair.size)) \
            if per_pair.size > 1 else math.nan
        first = runs.loc[chosen[0]]
        theory_ok = (first["activation"] == "tanh" and
                     all(col in runs.columns for col in ("sigma_w2", "sigma_b2", "xi_c")))
        target = res["c_star"]
        if theory_ok:
            sw2, sb2 = float(first["sigma_w2"]), float(first["sigma_b2"])
            res.update(sw2=sw2, sb2=sb2, xi_c=float(first["xi_c"]),
                       chi_1=float(first.get("chi_1", math.nan)))
            res["c_star_theory"] = target = c_star(sw2, sb2)
            l1 = rows[rows["layer"] == 1].sort_values(["run_id", "pair"])
            th = iterate_pairs(l1["q_a"].to_numpy(), l1["q_b"].to_numpy(),
                               l1["correlation"].to_numpy() *
                               np.sqrt(l1["q_a"].to_numpy() * l1["q_b"].to_numpy()),
                               deepest, sw2, sb2)
            res["theory"] = th.mean(axis=1)
            res["theory_dev"] = np.abs(res["theory"] - target)
            res["theory_deep"] = float(res["theory"][deep].mean())
            th_floor = max(1e-7, res["theory_dev"][-1])
            res["theory_decay"], res["theory_fit_layers"] = decay_length(res["theory_dev"],
                                                                          th_floor)
        dev = np.abs(res["measured"] - target)
        res["dev"] = dev
        floor = float(np.nanmean(dev[deep])) if deep.any() else math.nan
        # float pre-activations: 1 - c resolves to about 1e-7 at best
        res["floor"] = max(floor, 1e-7)
        res["decay"], res["fit_layers"] = decay_length(dev, res["floor"])
        out.append(res)
    return out


def draw(exp):
    t = exp.correlation
    if t is None:
        return "no correlation.csv"
    if len(t) == 0:
        return "correlation.csv has no rows (probes.correlation is off)"
    if not (t["step"] == 0).any():
        return "correlation.csv has no step-0 rows"
    results = analyse(exp)
    if not results:
        return "correlation.csv: no hidden-layer rows at step 0"
    shown = pick_evenly(list(range(len(results))), MAX_SETTINGS)
    if len(shown) < len(results):
        exp.notes.append(f"{NAME}: showing {len(shown)} of {len(results)} lines")
    fig = new_figure(9.6, 3.8)
    axes = fig.subplots(1, 2, squeeze=False)[0]
    ax_c, ax_d = axes[0], axes[1]
    theory_any = False
    positive = np.concatenate([r["dev"][np.isfinite(r["dev"]) & (r["dev"] > 0)]
                               for r in results])
    zeros = 0
    for i, r in zip(range(len(shown)), (results[j] for j in shown)):
        st = style(i)
        ls = r["layers"]
        ax_c.plot(ls, r["measured"], lw=1.5, **st)
        ax_c.fill_between(ls, r["p10"], r["p90"], color=st["color"], alpha=0.10, lw=0)
        ax_d.plot(ls, r["dev"], lw=1.5, **st)
        if positive.size:
            zeros += zeros_at_floor(ax_d, ls, r["dev"], st["color"])
        if "theory" in r:
            theory_any = True
            ax_c.plot(np.arange(1, r["depth"] + 1), r["theory"], color=st["color"], lw=1,
                      ls=(0, (4, 2)), alpha=0.9)
            ax_c.axhline(r["c_star_theory"], color=st["color"], lw=0.7, ls=":")
            td = np.where(r["theory_dev"] > 0, r["theory_dev"], np.nan)
            if positive.size:  # the map reaching c* exactly: 0 on a log axis
                zeros += zeros_at_floor(ax_d, np.arange(1, r["depth"] + 1), r["theory_dev"],
                                        st["color"])
            ax_d.plot(np.arange(1, r["depth"] + 1), td, color=st["color"], lw=1,
                      ls=(0, (4, 2)), alpha=0.9)
    ax_c.set_xlabel("layer $l$ (pre-activations $z_l$)")
    ax_c.set_ylabel("correlation $c_l$ of two inputs")
    ax_c.set_title("step 0: $c_l$ (band: 10th..90th pct over pairs)", fontsize=10)
    ax_c.grid(True, alpha=0.3)
    ax_d.set_xlabel("layer $l$")
    ax_d.set_ylabel("$|$mean over pairs of $c_l - c^*|$")
    ax_d.set_title("step 0: distance to the fixed point $c^*$", fontsize=10)
    if positive.size:
        log_y(ax_d, positive)
        ax_d.set_ylim(bottom=max(positive.min() / 2, 1e-8))
    ax_d.grid(True, alpha=0.3)
    handles = [Line2D([], [], lw=2, **style(i)) for i in range(len(shown))]
    labels = []
    for j in shown:
        r = results[j]
        text = f"{r['label']}: {r['depth']} layers, {r['seeds']} x {r['pairs'] // r['seeds']} " \
               f"pairs; deep-layer c {r['c_star']:.3f}"
        if "c_star_theory" in r:
            text += f" (theory c* {r['c_star_theory']:.3f})"
        labels.append(text)
    if theory_any:
        handles.append(Line2D([], [], color="0.3", lw=1, ls=(0, (4, 2))))
        labels.append("mean-field map from the measured layer 1 (Poole et al. 2016); "
                      "dotted: its c*")
    if zeros:
        handle, label = zero_handle()
        handles.append(handle)
        labels.append(f"$|c_l - c^*|$ = {label}")
    title = title_for(exp, "correlation between two inputs across layers at initialization\n"
                           "deepest runs of each line, all seeds' pairs pooled; solid: measured")
    finish(exp, fig, NAME, title, (handles, labels), legend_cols=2)
    return None
