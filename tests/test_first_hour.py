#!/usr/bin/python3
"""ctest: README.md's "First hour" works as written.

Usage: /usr/bin/python3 tests/test_first_hour.py INITBENCH SOURCE_DIR

The code blocks of README.md marked `<!-- first-hour -->` (the line before their fence) are run
verbatim, in order, as one bash script (`set -euo pipefail`: any command that fails ends it, and
the test names that command) in a fresh `git clone` of SOURCE_DIR in a temporary folder, so that
nothing touches the developer's tree. The clone gets the uncommitted changes to tracked files
too (`git diff HEAD`, committed in the clone), so the test runs the README and the tree as they
are now; untracked files are not in it.

`make run`, the first command of the first block, is not run: in the clone it would configure
and build the whole program again (minutes, a second build tree). Instead INITBENCH, already
built, is copied to build/src/initbench, where `make run` puts it (build/ is ignored by git);
`make -n run SKIP_DEPS=1` in the clone must end by running exactly that binary, and the test
runs it, the demonstration, in place of `make run`: its table and its closing verdicts must be
the ones README.md shows.
(Built in SOURCE_DIR, the binary draws figures and pages with SOURCE_DIR's scripts/.)

Then: every command exits 0; the folder given to `initbench plot` has figures, the one given to
`initbench report` has report.html (a whole HTML page); the shapes printed after
`initbench.load(FOLDER)` are runs.csv's and curves.csv's (rows, and columns plus the run's
settings that load joins), and README.md shows them; every spec the blocks run has its runs.csv; and `git status
--porcelain` in the clone is empty at the end: whatever the First hour writes is ignored or
outside the tree, and the committed results/ are untouched. Exits 77 (ctest
SKIP_RETURN_CODE) when git, make, numpy, pandas or matplotlib is missing.
"""

import csv
import os
import re
import shutil
import subprocess
import sys
import time

from plot_support import SKIP, check, missing_plot_dependency, run, test_main

MARK = "<!-- first-hour -->"
TIMEOUT = 240  # seconds, for the whole First hour

# runs.csv's fixed setting columns that initbench.load joins to every per-step table, besides
# the setting columns, one per spec key (docs/csv.md, python/initbench/__init__.py)
SETTINGS = ["experiment", "depth", "width", "layers", "seed"]
LAST_FIXED_COLUMN = "verdict"  # runs.csv's last fixed column; the setting columns come after it


def first_hour_blocks(readme):
    """The fenced code blocks right after a MARK line, each as its text."""
    lines = readme.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        check(i + 1 < len(lines) and lines[i + 1].startswith("```"),
              f"README.md:{i + 1}: {MARK} must be followed by a ``` fence")
        end = next((j for j in range(i + 2, len(lines)) if lines[j].startswith("```")), None)
        check(end is not None, f"README.md:{i + 2}: the fence is never closed")
        blocks.append("\n".join(lines[i + 2:end]) + "\n")
    return blocks


def demo_table(readme):
    """The demonstration's table as README.md shows it: the block after "and prints:"."""
    m = re.search(r"and prints:\n\n```\n(.*?)```", readme, re.S)
    check(m, "README.md: no ``` block after 'and prints:' (the table `make run` prints)")
    return m.group(1)


def demo_verdicts(readme):
    """The demonstration's closing verdicts as README.md shows them: the block after "each
    scheme's verdicts (...):"."""
    m = re.search(r"each scheme's verdicts \([^)]*\)\):\n\n```\n(.*?)```", readme, re.S)
    check(m, "README.md: no ``` block after \"each scheme's verdicts (...):\" (the demo's end)")
    return m.group(1)


def csv_rows(path):
    check(os.path.isfile(path), f"{path} is missing")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    check(len(rows) >= 2, f"{path}: no data rows")
    return rows[0], len(rows) - 1


def git(clone, *args, **kw):
    r = run(["git", "-C", clone, *args], timeout=120, **kw)
    check(r.returncode == 0, f"git {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


def make_clone(source, clone):
    """A clone of source with its uncommitted changes to tracked files committed."""
    r = run(["git", "clone", "--quiet", "--no-hardlinks", source, clone], timeout=120)
    check(r.returncode == 0, f"git clone {source}: exit {r.returncode}\n{r.stderr}")
    diff = run(["git", "-C", source, "diff", "HEAD", "--binary"], timeout=120)
    check(diff.returncode == 0, f"git diff HEAD in {source}: exit {diff.returncode}")
    if diff.stdout:
        git(clone, "apply", "--index", "-", input=diff.stdout)
        git(clone, "-c", "user.name=first hour", "-c", "user.email=first-hour@localhost",
            "commit", "--quiet", "--no-verify", "-m", "the working tree's changes")


def check_make_run(clone, first):
    """`make run` is the first command, and it ends by running build/src/initbench."""
    command = first.split("#")[0].strip()
    check(command == "make run", f"the first First-hour command is {command!r}, not 'make run'")
    r = run(["make", "-n", "run", "SKIP_DEPS=1"], cwd=clone, timeout=60)
    check(r.returncode == 0, f"make -n run: exit {r.returncode}\n{r.stderr}")
    last = [l for l in r.stdout.splitlines() if l.strip()][-1].strip()
    check(last == "build/src/initbench",
          f"make -n run ends with {last!r}, not build/src/initbench (the binary the test puts "
          f"there)")


def check_outputs(clone, readme, script, stdout):
    """What the commands left: figures, the page, the shapes pandas printed, every spec's runs."""
    plotted = re.findall(r"initbench plot (\S+)", script)
    reported = re.findall(r"initbench report (\S+)", script)
    loaded = re.findall(r"initbench\.load\(\"([^\"]+)\"\)", script)
    check(plotted and reported and loaded,
          "the First hour must plot, report and load a folder (initbench plot DIR, initbench "
          "report DIR, initbench.load(\"DIR\"))")
    for folder in plotted:
        plots = os.path.join(clone, folder, "plots")
        pngs = [f for f in os.listdir(plots) if f.endswith(".png")] if os.path.isdir(plots) else []
        check(pngs, f"initbench plot {folder}: no figure in {folder}/plots")
        print(f"  {folder}/plots: {len(pngs)} figures")
    for folder in reported:
        page = os.path.join(clone, folder, "report.html")
        check(os.path.isfile(page), f"initbench report {folder}: no {folder}/report.html")
        with open(page, encoding="utf-8") as f:
            text = f.read()
        check(text.lstrip().lower().startswith("<!doctype html") and "</html>" in text
              and "<img" in text,
              f"{folder}/report.html is not a whole page with its figures")
        print(f"  {folder}/report.html: {len(text)} characters")
    shapes = [tuple(int(x) for x in m)
              for m in re.findall(r"^\((\d+), (\d+)\) \((\d+), (\d+)\)$", stdout, re.M)]
    check(len(shapes) == len(loaded),
          f"expected one line '(runs rows, columns) (curves rows, columns)' per initbench.load, "
          f"got {shapes}")
    for folder, shape in zip(loaded, shapes):
        runs_header, runs = csv_rows(os.path.join(clone, folder, "runs.csv"))
        curves_header, curves = csv_rows(os.path.join(clone, folder, "curves.csv"))
        axes = runs_header[runs_header.index(LAST_FIXED_COLUMN) + 1:]
        joined = [c for c in SETTINGS + axes if c in runs_header and c not in curves_header]
        expected = (runs, len(runs_header), curves, len(curves_header) + len(joined))
        check(shape == expected, f"initbench.load({folder!r}) printed {shape}, expected "
              f"{expected} (runs.csv, and curves.csv joined with {len(joined)} settings)")
        print(f"  initbench.load({folder!r}): runs {shape[:2]}, curves {shape[2:]}")
        # the README gives the row counts; the column counts follow the spec's key table
        said = f"`({shape[0]}, C) ({shape[2]}, D)`"
        check(said in readme, f"README.md does not show the rows the load printed: {said}")
    for spec in re.findall(r"initbench run (\S+\.toml)\b.*--out (\S+)", script):
        path, out = spec
        with open(os.path.join(clone, path)) as f:
            name = re.search(r'^name = "([^"]+)"', f.read(), re.M)
        check(name, f"{path}: no name")
        _, runs = csv_rows(os.path.join(clone, out, name.group(1), "runs.csv"))
        print(f"  {path}: {runs} runs in {out}/{name.group(1)}")


def first_hour(initbench, source, work):
    with open(os.path.join(source, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    blocks = first_hour_blocks(readme)
    check(blocks, f"README.md has no code block marked {MARK}")
    lines = blocks[0].splitlines()
    clone = os.path.join(work, "initbench")
    make_clone(source, clone)
    check_make_run(clone, lines[0])
    os.makedirs(os.path.join(clone, "build", "src"))
    shutil.copy2(initbench, os.path.join(clone, "build", "src", "initbench"))

    # make run's last command in place of make run; the rest verbatim
    script = "\n".join(["build/src/initbench"] + lines[1:]) + "\n" + "".join(blocks[1:])
    path = os.path.join(work, "first_hour.sh")
    with open(path, "w") as f:
        f.write("set -euo pipefail\n"
                "trap 'echo \"FIRST HOUR FAILED (exit $?): $BASH_COMMAND\" >&2' ERR\n" + script)
    start = time.monotonic()
    r = subprocess.run(["bash", path], cwd=clone, capture_output=True, text=True,
                       timeout=TIMEOUT)
    seconds = time.monotonic() - start
    check(r.returncode == 0,
          f"the First hour failed (exit {r.returncode}) after {seconds:.0f} s:\n"
          f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    print(f"  {len(blocks)} blocks, {len(script.splitlines())} lines: exit 0 in {seconds:.1f} s")

    table = demo_table(readme)
    check(table in r.stdout,
          f"the demonstration did not print README.md's table:\n{r.stdout[:2000]}")
    print("  the demonstration prints README.md's table")
    verdicts = demo_verdicts(readme)
    check(verdicts in r.stdout,
          f"the demonstration did not end with README.md's verdicts:\n{r.stdout[:3000]}")
    print("  and README.md's verdicts")
    check_outputs(clone, readme, script, r.stdout)

    status = git(clone, "status", "--porcelain", "--untracked-files=all")
    check(status == "", f"git status in the clone is not clean after the First hour:\n{status}")
    print("  git status clean in the clone")


def missing():
    if shutil.which("git") is None:
        return "SKIP: git is not installed (apt-get install git)"
    if shutil.which("make") is None:
        return "SKIP: make is not installed (apt-get install make)"
    return missing_plot_dependency()


def main():
    return test_main(
        __doc__, 2, "initbench-first-hour-",
        lambda args, work: first_hour(os.path.abspath(args[0]), os.path.abspath(args[1]), work),
        missing)


if __name__ == "__main__":
    sys.exit(main())
