#!/usr/bin/python3
"""The tables of results/edge_of_chaos/README.md, from the experiment's CSV files.

Usage: /usr/bin/python3 scripts/edge_of_chaos_report.py [DIR] [--budgets 400,800]

DIR (default results/edge_of_chaos) must hold runs.csv, summary.csv, curves.csv and
correlation.csv as `initbench run experiments/edge_of_chaos.toml` writes them. Prints markdown:

1. Trainable depth per budget. The runs stop once their training accuracy reaches 0.5 at an
   evaluation (train.target_accuracy, stop_at_target), so steps_to_target says for every budget
   B up to train.steps whether a run was trainable within B steps (constant-rate SGD: the first B
   steps of a longer run are a run of B steps). Per sw2 and budget: the deepest depth of the grid
   at which at least 2 of the seeds reached 0.5 (and the ratio to 6 xi_c), and the seeds that
   reached it at every depth.
2. Correlations at initialization against the mean-field theory (initbench.plot.correlation:
   measured c* and decay length of |c_l - c*| vs the theory's c* and xi_c).
"""

import argparse
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))


def trainable_tables(exp, budgets):
    runs = exp.runs.copy()
    table = exp.tables["runs.csv"]
    runs["depth"] = table.ints("depth")[table.ints("run_id").argsort()]
    runs["stt"] = table.floats("steps_to_target")[table.ints("run_id").argsort()]
    runs["sw2"] = runs["sigma_w2"]
    sw2s = sorted(runs["sw2"].unique())
    depths = sorted(runs["depth"].unique())
    seeds = runs["seed"].nunique()
    need = 2 if seeds >= 3 else 1
    xi6 = {s: 6 * runs.loc[runs["sw2"] == s, "xi_c"].iloc[0] for s in sw2s}
    lines = [f"Deepest depth where at least {need} of {seeds} seeds reached training accuracy "
             f"0.5 within the budget (ratio to 6 xi_c):", ""]
    head = "| sw2 | 6 xi_c | " + " | ".join(f"{b} steps" for b in budgets) + " |"
    lines += [head, "|" + "---|" * (2 + len(budgets))]
    for s in sw2s:
        cells = []
        for b in budgets:
            best = None
            for d in depths:
                sel = runs[(runs["sw2"] == s) & (runs["depth"] == d)]
                ok = ((sel["stt"] >= 0) & (sel["stt"] <= b)).sum()
                if ok >= need:
                    best = d
            cells.append("none" if best is None else f"{best} ({best / xi6[s]:.2f})")
        lines.append(f"| {s:g} | {xi6[s]:.0f} | " + " | ".join(cells) + " |")
    lines += ["", "Seeds that reached 0.5 within " + " / ".join(str(b) for b in budgets) +
              f" steps (of {seeds}), rows sw2, columns depth:", ""]
    lines += ["| sw2 | 6 xi_c | " + " | ".join(str(d) for d in depths) + " |",
              "|" + "---|" * (2 + len(depths))]
    for s in sw2s:
        cells = []
        for d in depths:
            sel = runs[(runs["sw2"] == s) & (runs["depth"] == d)]
            cells.append("/".join(str(int(((sel["stt"] >= 0) & (sel["stt"] <= b)).sum()))
                                  for b in budgets))
        lines.append(f"| {s:g} | {xi6[s]:.0f} | " + " | ".join(cells) + " |")
    return lines


def correlation_table(exp):
    from initbench.plot.correlation import analyse
    res = analyse(exp)
    res0 = res[0] if res else {}
    lines = ["Correlations at step 0 (deepest runs; pairs x seeds pooled): deep c = mean of "
             f"c_l over the deepest third (layers {res0.get('deep_layers')}) of the hidden layers (+- standard error over pairs; "
             "sd: spread of one pair at one layer there) and the map's mean there; decay "
             "length of |mean c_l - c*| "
             "(fit from layer 1 to where it nears the noise floor) for the measurement and for "
             "the mean-field map iterated from the measured layer 1, against xi_c:", "",
             "| sw2 | chi_1 | depth | pairs | c* theory | deep c measured | sd one pair | "
             "deep c of the map | decay measured (layers fitted) | decay of the map | xi_c |",
             "|" + "---|" * 11]
    for r in res:
        def f(v, fmt="{:.3g}"):
            return "inf" if v == math.inf else ("-" if v is None or v != v else fmt.format(v))
        lines.append(
            f"| {r.get('sw2', float('nan')):g} | {f(r.get('chi_1'), '{:.3f}')} | {r['depth']} | "
            f"{r['pairs']} | {f(r.get('c_star_theory'), '{:.3f}')} | "
            f"{r['c_star']:.3f} +- {r['c_star_sem']:.3f} | {r['c_star_std']:.3f} | "
            f"{f(r.get('theory_deep'), '{:.3f}')} | "
            f"{f(r['decay'])} ({r['fit_layers']}) | {f(r.get('theory_decay'))} "
            f"({r.get('theory_fit_layers', '-')}) | {f(r.get('xi_c'))} |")
    return lines


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", nargs="?", default=os.path.join("results", "edge_of_chaos"))
    ap.add_argument("--budgets", default="400,800")
    args = ap.parse_args(argv)
    from initbench.plot.experiment import Experiment
    exp = Experiment(args.dir)
    steps = int(exp.tables["runs.csv"].floats("steps_run").max())
    total = exp.spec.get("train", {}).get("steps", steps)
    budgets = sorted({int(b) for b in args.budgets.split(",")} | {int(total)})
    print("\n".join(trainable_tables(exp, budgets)))
    print()
    print("\n".join(correlation_table(exp)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
