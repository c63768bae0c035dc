#!/usr/bin/python3
"""ctest: `initbench merge` draws the figures `initbench run` draws.

Usage: /usr/bin/python3 tests/test_merge_plots.py INITBENCH

A small grid (2 schemes x 2 seeds, symmetry and per-layer probes on) run whole and in 3 shards.
The shards draw no figures (each holds a third of the runs); `merge` draws plots/ with the same
PNG files, byte for byte, as the whole run's, one "wrote" line each after the summary table;
`merge --no-plot` draws none. Exits 77 (ctest SKIP_RETURN_CODE) when numpy, pandas or matplotlib
is missing.
"""

import os
import sys

from plot_support import check, digests, run, test_main

SPEC = """\
name = "merge_plots"
seed = [1, 2]

[data]
kind = "circles"
train = 80
test = 20

[model]
layers = [2, 6, 4, 1]

[init]
scheme = ["zeros", "he_normal"]

[train]
lr = 0.1
steps = 40
eval_every = 10
target_accuracy = 0.6

[probes]
every = 20
symmetry = true
"""


def merge_plots(initbench, work):
    spec = os.path.join(work, "spec.toml")
    with open(spec, "w") as f:
        f.write(SPEC)
    r = run([initbench, "run", spec, "--out", os.path.join(work, "whole"), "--threads", "2"],
            timeout=300)
    check(r.returncode == 0, f"run: exit {r.returncode}\n{r.stderr}")
    whole = digests(os.path.join(work, "whole", "merge_plots", "plots"))
    check("curves.png" in whole and "symmetry.png" in whole, f"the whole run drew {sorted(whole)}")

    shards = []
    for i in (1, 2, 3):
        out = os.path.join(work, f"shard{i}")
        r = run([initbench, "run", spec, "--out", out, "--shard", f"{i}/3", "--threads", "2"],
                timeout=300)
        check(r.returncode == 0, f"run --shard {i}/3: exit {r.returncode}\n{r.stderr}")
        shards.append(os.path.join(out, "merge_plots"))
        check(not os.path.exists(os.path.join(shards[-1], "plots")),
              f"shard {i}/3 drew figures of its third of the runs")

    r = run([initbench, "merge", "--out", os.path.join(work, "merged"), *shards], timeout=300)
    check(r.returncode == 0, f"merge: exit {r.returncode}\n{r.stdout}{r.stderr}")
    plots = os.path.join(work, "merged", "merge_plots", "plots")
    check(os.path.isdir(plots), f"merge drew no figures\n{r.stdout}{r.stderr}")
    merged = digests(plots)
    check(merged == whole, f"merge drew {sorted(merged)}, not the whole run's figures "
                           f"{sorted(whole)} byte for byte (differing: "
                           f"{sorted(n for n in whole if whole[n] != merged.get(n))})")
    wrote = [line for line in r.stdout.splitlines() if line.startswith("wrote ")]
    check(sorted(os.path.basename(line) for line in wrote) == sorted(whole),
          f"merge's stdout does not name every figure:\n{r.stdout}")
    check(r.stdout.index("merged 3 shards") < r.stdout.index("he_normal")
          < r.stdout.index(wrote[0]), f"merge: the figures come before the summary:\n{r.stdout}")
    print(f"merge drew the whole run's {len(merged)} figures, byte for byte")

    r = run([initbench, "merge", "--no-plot", "--out", os.path.join(work, "bare"), *shards],
            timeout=300)
    check(r.returncode == 0, f"merge --no-plot: exit {r.returncode}\n{r.stderr}")
    check(not os.path.exists(os.path.join(work, "bare", "merge_plots", "plots")),
          "merge --no-plot drew figures")
    check("wrote " not in r.stdout, f"merge --no-plot printed figures:\n{r.stdout}")
    print("merge --no-plot draws none")


def main():
    return test_main(__doc__, 1, "initbench-merge-plots-",
                     lambda args, work: merge_plots(os.path.abspath(args[0]), work))


if __name__ == "__main__":
    sys.exit(main())
