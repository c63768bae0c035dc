#!/usr/bin/env python3
"""Pick a learning rate per setting from a pilot's validation loss, and check a spec against it.

A pilot is an experiment with a validation split (`data.validation`) and `train.lr` as a grid
axis. The rule, for each setting (every grid axis of runs.csv but `train.lr` and `seed`):

    among the pilot's learning rates whose runs all ended with a finite validation loss
    (`final_val_loss` in runs.csv; a diverged run has none), take the one with the lowest
    validation loss, averaged over the seeds; a tie goes to the smaller rate.

Usage (/usr/bin/python3, standard library only):

    scripts/lr_pilot.py select PILOT_DIR TABLE.csv
        reads PILOT_DIR/runs.csv, writes TABLE.csv (one row per setting and rate: the setting,
        lr, status, final_train_loss, final_val_loss, final_val_acc, chosen = 1 on the row the
        rule picks) and prints the picks as the four lists of a zip over
        model.activation, init.scheme, model.depth and train.lr
    scripts/lr_pilot.py check TABLE.csv SPEC.toml
        applies the rule again to the losses in TABLE.csv, requires its `chosen` column to agree,
        and requires SPEC.toml's zip (the same four keys) to run exactly the chosen setting and
        rate pairs, in any order; exit 1 with one line per difference
"""
import csv
import math
import sys
import tomllib

SETTING = ["model.activation", "init.scheme", "model.depth"]
COLUMNS = SETTING + ["lr", "status", "final_train_loss", "final_val_loss", "final_val_acc",
                     "chosen"]


def number(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def pick(rows):
    """The rows the rule chooses: {setting tuple: lr text}. `rows` hold SETTING, lr and
    final_val_loss (one row per run; seeds are averaged)."""
    losses = {}
    for r in rows:
        key = tuple(r[c] for c in SETTING)
        losses.setdefault(key, {}).setdefault(r["lr"], []).append(number(r["final_val_loss"]))
    chosen = {}
    for key, by_lr in losses.items():
        finite = {lr: sum(v) / len(v) for lr, v in by_lr.items()
                  if all(math.isfinite(x) for x in v)}
        if not finite:
            raise SystemExit(f"setting {key}: no learning rate with a finite validation loss")
        chosen[key] = min(finite, key=lambda lr: (finite[lr], float(lr)))
    return chosen


def select(pilot_dir, table_path):
    with open(f"{pilot_dir}/runs.csv", newline="") as f:
        runs = list(csv.DictReader(f))
    if not runs or "final_val_loss" not in runs[0]:
        raise SystemExit(f"{pilot_dir}/runs.csv: no final_val_loss column (set data.validation)")
    for r in runs:
        r["lr"] = r["train.lr"] if "train.lr" in r else r["lr"]  # "lr": an older runs.csv
    chosen = pick(runs)
    runs.sort(key=lambda r: (tuple(r[c] for c in SETTING), float(r["lr"]), int(r["seed"])))
    with open(table_path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS)
        for r in runs:
            mark = 1 if chosen[tuple(r[c] for c in SETTING)] == r["lr"] else 0
            out.writerow([r[c] for c in COLUMNS[:-1]] + [mark])
    keys = sorted(chosen, key=lambda k: (k[0], k[1], int(k[2])))
    print(f'model.activation = [{", ".join(repr(k[0]).replace(chr(39), chr(34)) for k in keys)}]')
    print(f'init.scheme = [{", ".join(repr(k[1]).replace(chr(39), chr(34)) for k in keys)}]')
    print(f'model.depth = [{", ".join(k[2] for k in keys)}]')
    print(f'train.lr = [{", ".join(chosen[k] for k in keys)}]')


def check(table_path, spec_path):
    with open(table_path, newline="") as f:
        rows = list(csv.DictReader(f))
    problems = []
    if not rows:
        problems.append(f"{table_path}: no rows")
    chosen = pick(rows) if rows else {}
    for r in rows:
        key = tuple(r[c] for c in SETTING)
        want = "1" if chosen[key] == r["lr"] else "0"
        if r["chosen"] != want:
            problems.append(f"{table_path}: {key} lr {r['lr']}: chosen = {r['chosen']}, the "
                            f"rule gives {want}")
    with open(spec_path, "rb") as f:
        spec = tomllib.load(f)
    values = [spec["model"]["activation"], spec["init"]["scheme"], spec["model"]["depth"],
              spec["train"]["lr"]]
    if not all(isinstance(v, list) and len(v) == len(values[0]) for v in values):
        problems.append(f"{spec_path}: model.activation, init.scheme, model.depth and train.lr "
                        f"must be lists of one length (a zip)")
    else:
        ran = {(a, s, str(d)): lr for a, s, d, lr in zip(*values)}
        if len(ran) != len(values[0]):
            problems.append(f"{spec_path}: a setting appears twice in the zip")
        for key, lr in sorted(chosen.items()):
            if key not in ran:
                problems.append(f"{spec_path}: setting {key} is not run")
            elif not math.isclose(ran[key], float(lr), rel_tol=0, abs_tol=0):
                problems.append(f"{spec_path}: setting {key} runs at lr {ran[key]}, the pilot "
                                f"chose {lr}")
        for key in sorted(set(ran) - set(chosen)):
            problems.append(f"{spec_path}: setting {key} is not in the pilot")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        raise SystemExit(1)
    print(f"{spec_path}: {len(chosen)} settings, each at the rate {table_path} chose")


def main(argv):
    if len(argv) == 4 and argv[1] == "select":
        select(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "check":
        check(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main(sys.argv)
