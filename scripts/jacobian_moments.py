#!/usr/bin/env python3
"""The spectrum of J J^T per run of a results folder with jacobian.csv: the mean m1 and the
variance of the squared singular values (per sample, then averaged over samples), the 10 %/90 %
spread of s, the smallest s, the count of exact zeros, beside free probability's prediction of
the variance on the critical line (docs/references.md: dynamical_isometry).

  /usr/bin/python3 scripts/jacobian_moments.py results/dynamical_isometry [--step 0] \
      [--plot results/dynamical_isometry/plots/isometry.png]

--plot draws the variance and the mean against depth, a line per setting, the prediction dashed.

Prediction (mu_k = E[phi'(h)^(2k)], h ~ N(0, q*), v_D = mu2 / mu1^2 - 1, d hidden layers,
m1 = sw2 (sw2 mu1)^d): orthogonal weights m1^2 d v_D; Gaussian weights m1^2 ((d + 1) + d v_D).
"""
import argparse
import csv
import math
import sys
from collections import defaultdict


def moments_of_sech(q, power, points=20000):
    """E[sech(sqrt(q) z)^power], z ~ N(0, 1), by the midpoint rule over +-10 sd."""
    total = 0.0
    for i in range(points):
        z = -10.0 + 20.0 * (i + 0.5) / points
        total += math.exp(-0.5 * z * z) * math.cosh(math.sqrt(q) * z) ** (-power)
    return total * (20.0 / points) / math.sqrt(2.0 * math.pi)


def prediction(activation, sw2, q_star, depth, orthogonal):
    if activation == "tanh":
        mu1, mu2 = moments_of_sech(q_star, 4), moments_of_sech(q_star, 8)
        v_d = mu2 / mu1**2 - 1.0
        m1 = sw2 * (sw2 * mu1) ** depth
    elif activation == "relu":
        v_d, m1 = 1.0, sw2 * (sw2 / 2.0) ** depth
    else:
        return float("nan"), float("nan")
    variance = m1**2 * (depth * v_d if orthogonal else (depth + 1) + depth * v_d)
    return m1, variance


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--step", type=int, default=0)
    parser.add_argument("--plot", help="write the figure to this PNG file")
    args = parser.parse_args()
    with open(f"{args.folder}/runs.csv", newline="") as f:
        runs = {r["run_id"]: r for r in csv.DictReader(f)}
    values = defaultdict(lambda: defaultdict(list))
    with open(f"{args.folder}/jacobian.csv", newline="") as f:
        for r in csv.DictReader(f):
            if int(r["step"]) == args.step:
                values[r["run_id"]][r["sample"]].append(float(r["singular_value"]))
    groups = defaultdict(list)
    for run_id, samples in values.items():
        run = runs[run_id]
        key = (run["activation"], run["scheme"], float(run["sigma_w2"]), run["q_star"],
               int(run["depth"]))
        for s in samples.values():
            s = sorted(s, reverse=True)
            n = len(s)
            sq = [v * v for v in s]
            m1 = sum(sq) / n
            var = sum(v * v for v in sq) / n - m1 * m1
            p10, p90 = s[math.ceil(0.1 * n) - 1], s[math.ceil(0.9 * n) - 1]
            groups[key].append((m1, var, p10 / p90 if p90 > 0 else math.inf, s[-1],
                                sum(v == 0.0 for v in s)))
    table = []
    out = csv.writer(sys.stdout)
    out.writerow(["activation", "scheme", "sigma_w2", "q_star", "depth", "jacobians", "m1",
                  "m1_theory", "variance", "variance_theory", "spread_10_90", "smallest",
                  "zeros"])
    for key in sorted(groups, key=lambda k: (k[0], float(k[3]) if k[3] != 'nan' else 0.0, k[1], k[4])):
        activation, scheme, sw2, q_star, depth = key
        q_star = float(q_star)
        rows = groups[key]
        k = len(rows)
        m1_theory, var_theory = prediction(activation, sw2, q_star, depth,
                                           scheme.startswith("orthogonal"))
        spread = math.exp(sum(math.log(r[2]) for r in rows) / k) if all(
            math.isfinite(r[2]) for r in rows) else math.inf
        table.append((activation, scheme, q_star if math.isfinite(q_star) else None, depth, sum(r[0] for r in rows) / k, m1_theory,
                      sum(r[1] for r in rows) / k, var_theory))
        out.writerow([activation, scheme, f"{sw2:.6g}", f"{q_star:.4g}", depth, k,
                      f"{sum(r[0] for r in rows) / k:.4g}", f"{m1_theory:.4g}",
                      f"{sum(r[1] for r in rows) / k:.4g}", f"{var_theory:.4g}",
                      f"{spread:.4g}", f"{min(r[3] for r in rows):.3g}",
                      sum(r[4] for r in rows)])
    if args.plot:
        plot(table, args.plot)


def plot(table, path):
    """Variance (left) and mean (right) of J J^T's spectrum against depth, log-log, a line per
    setting (marker: measured; dashed, same colour: free probability's prediction)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    settings = []
    for row in table:
        if row[:3] not in settings:
            settings.append(row[:3])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    for i, (activation, scheme, q_star) in enumerate(settings):
        rows = sorted((r for r in table if r[:3] == (activation, scheme, q_star)),
                      key=lambda r: r[3])
        depth = [r[3] for r in rows]
        kind = "orthogonal" if scheme.startswith("orthogonal") else "Gaussian"
        label = f"{activation}, {kind}" + (f", q* = {q_star:.3g}" if q_star is not None else "")
        colour = f"C{i}"
        left.plot(depth, [r[6] for r in rows], "o-", color=colour, label=label)
        left.plot(depth, [r[7] for r in rows], "--", color=colour, alpha=0.7)
        right.plot(depth, [r[4] for r in rows], "o-", color=colour, label=label)
        right.plot(depth, [r[5] for r in rows], "--", color=colour, alpha=0.7)
    left.set(xscale="log", yscale="log", xlabel="hidden layers",
             ylabel="variance of J J^T's eigenvalues",
             title="spread of the spectrum (dashed: free probability)")
    right.set(xscale="log", yscale="log", xlabel="hidden layers",
              ylabel="mean of J J^T's eigenvalues (mean s^2)",
              title="mean of the spectrum (dashed: sw2 (sw2 mu1)^depth)")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8, loc="upper left")
    fig.suptitle("dynamical_isometry: J = dz_L/dx at initialisation on the critical line "
                 "(width 128, 3 inputs per net, seeds pooled)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
