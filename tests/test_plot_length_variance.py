#!/usr/bin/python3
"""ctest: length_variance.png (python/initbench/plot/length_variance.py) on a real folder.

Usage: /usr/bin/python3 tests/test_plot_length_variance.py INITBENCH SOURCE_DIR

Runs experiments/finite_width.toml at a small size (widths 32 and 64, depths 4 and 8, 120
seeds: 480 He-initialised ReLU nets at step 0) and checks:
- the finite-width prediction v(n) = Var ln((2 / n) chi^2_K), K ~ Binomial(n, 1/2), the module
  computes against a Monte Carlo estimate of it here (400000 draws per width, NumPy);
- analyse(): one point per (depth, width) with beta = depth / width, the measured variance of
  ln(q_L / q_0) within 0.6-1.6 of the exact prediction, the first-order one 5 beta + trigamma(8);
  the per-layer curves start at beta_l = 0 and end at beta;
- the figure is drawn, its legend's fitted slope is between 3 and 8, and it is skipped with a
  note for a folder with fewer than 20 seeds per setting;
- plotted again (another hash seed), the PNG files are byte-identical.
Exits 77 (ctest SKIP_RETURN_CODE) when numpy, pandas or matplotlib is missing.
"""

import io
import os
import re
import sys
from contextlib import redirect_stdout

from plot_support import check, check_replots_identically, run, test_main


def run_spec(initbench, source, work, name, *sets):
    spec = os.path.join(source, "experiments", "finite_width.toml")
    out = os.path.join(work, name)
    args = [initbench, "run", spec, "--out", out, "--threads", "2", "--no-plot"]
    for s in sets:
        args += ["--set", s]
    r = run(args, timeout=600)
    check(r.returncode == 0, f"initbench run: exit {r.returncode}\n{r.stderr}")
    return os.path.join(out, "finite_width")


def body(arguments, work):
    initbench, source = (os.path.abspath(a) for a in arguments)
    sys.path.insert(0, os.path.join(source, "python"))
    import numpy as np
    from initbench.plot import plot, setup_matplotlib
    from initbench.plot.experiment import Experiment
    from initbench.plot.length_variance import analyse, relu_layer_variance, trigamma_half
    setup_matplotlib()

    rng = np.random.default_rng(1)
    for n in (32, 64):
        k = rng.binomial(n, 0.5, 400000)
        k = k[k > 0]
        sample = np.log(2.0 / n * rng.chisquare(k))
        mc, exact = sample.var(), relu_layer_variance(n)
        print(f"  v({n}) = {exact:.5f} (5 / n = {5 / n:.5f}), Monte Carlo {mc:.5f}")
        check(abs(mc / exact - 1) < 0.02, f"v({n}) = {exact} against a Monte Carlo {mc}")

    folder = run_spec(initbench, source, work, "big", "model.width=[32, 64]",
                      "model.depth=[4, 8]", "seed={range=[1, 121]}")
    points, curves, skipped = analyse(Experiment(folder))
    check(skipped is None, f"analyse: skipped ({skipped})")
    check(sorted((p[0], p[1]) for p in points.values()) == [(4, 32), (4, 64), (8, 32), (8, 64)],
          f"analyse: settings {sorted(points.values())}")
    for s, (depth, width, beta, measured, first, exact) in points.items():
        print(f"  depth {depth}, width {width}: beta {beta:.4f}, Var {measured:.3f}, "
              f"first order {first:.3f}, exact {exact:.3f}")
        check(beta == depth / width, f"beta {beta} at depth {depth}, width {width}")
        check(abs(first - (5 * beta + trigamma_half(16))) < 1e-12, f"first order {first}")
        check(0.6 * exact < measured < 1.6 * exact,
              f"depth {depth}, width {width}: Var {measured} against {exact}")
        b, m = curves[s]
        check(len(b) == depth + 1 and b[0] == 0.0 and abs(b[-1] - beta) < 1e-12,
              f"curve of depth {depth}: beta_l {b}")
        check(np.isfinite(m).all(), f"curve of depth {depth}: {m}")

    figures = {}
    with redirect_stdout(io.StringIO()):
        plot(folder, figures)
    check("length_variance.png" in figures, f"not drawn ({sorted(figures)})")
    legend = [t.get_text() for ax in figures["length_variance.png"].axes
              for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]
    fit = [re.search(r"\+ ([0-9.]+) beta", t) for t in legend if t.startswith("fit")]
    check(fit and fit[0], f"no fitted line in the legend {legend}")
    slope = float(fit[0].group(1))
    print(f"  legend: {legend}")
    check(3.0 < slope < 8.0, f"fitted slope {slope}")
    count = check_replots_identically(source, folder, "4242", timeout=600)
    print(f"  {count} PNGs byte-identical when plotted again")

    few = run_spec(initbench, source, work, "few", "model.width=[32, 64]", "model.depth=4",
                   "seed=[1, 2, 3]")
    out = io.StringIO()
    with redirect_stdout(out):
        plot(few, {})
    check("skip length_variance.png: fewer than 2 settings or fewer than 20 seeds" in
          out.getvalue(), f"3 seeds: {out.getvalue()}")


if __name__ == "__main__":
    sys.exit(test_main(__doc__, 2, "initbench-length-variance-", body))
