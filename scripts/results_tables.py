#!/usr/bin/env python3
"""Regenerate the numeric tables in results/*/README.md from each folder's summary.csv.

A README marks where a table goes:

    <!-- BEGIN summary -->
    (generated; replaced on every run)
    <!-- END summary -->

Optional settings after `summary`: `columns=final_test_acc,steps_to_target` (default: the final
accuracies and losses, steps to target and init_grad_ratio), `file=other.csv` (another
summary-style CSV in the folder). Each metric is shown as mean ± std over seeds, with the number
of runs it is over when that differs from the group size. Run with /usr/bin/python3 (standard
library only): `scripts/results_tables.py [results]`.
"""
import csv
import math
import pathlib
import re
import sys

DEFAULT_COLUMNS = ["final_train_acc", "final_test_acc", "final_train_loss", "steps_to_target", "init_grad_ratio"]
STATUSES = ["converged", "not_converged", "diverged", "stalled"]
MARKER = re.compile(r"<!-- BEGIN summary(?P<opts>[^>]*)-->\n.*?<!-- END summary -->", re.S)


def number(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def fmt(value):
    if math.isnan(value):
        return "-"
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.2e}"
    return f"{value:.4g}"


def table(folder, opts):
    settings = dict(item.split("=", 1) for item in opts.split() if "=" in item)
    columns = settings.get("columns", ",".join(DEFAULT_COLUMNS)).split(",")
    path = folder / settings.get("file", "summary.csv")
    if not path.exists():
        raise SystemExit(f"{path}: missing (run the experiment first: make reproduce)")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return "(no runs)\n"
    header = list(rows[0].keys())
    axes = header[: header.index("runs")]
    for c in columns:
        if f"{c}_mean" not in header:
            raise SystemExit(f"{path}: no column '{c}_mean'")
    out = ["| " + " | ".join(axes + ["runs", "status"] + columns) + " |",
           "|" + "---|" * (len(axes) + 2 + len(columns))]
    for r in rows:
        status = ", ".join(f"{r[s]} {s}" for s in STATUSES if r.get(s, "0") not in ("0", ""))
        cells = [r[a] for a in axes] + [r["runs"], status]
        for c in columns:
            mean, std = number(r[f"{c}_mean"]), number(r[f"{c}_std"])
            cells.append(fmt(mean) + ("" if math.isnan(std) else f" ± {fmt(std)}"))
        out.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(out) + "\n"


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    for readme in sorted(root.glob("*/README.md")):
        text = readme.read_text()
        new = MARKER.sub(lambda m: f"<!-- BEGIN summary{m.group('opts')}-->\n{table(readme.parent, m.group('opts'))}"
                         "<!-- END summary -->", text)
        if new != text:
            readme.write_text(new)
            print(f"updated {readme}")


if __name__ == "__main__":
    main()
