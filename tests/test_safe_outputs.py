#!/usr/bin/python3
"""ctest: `initbench run` never replaces results it should not.

Usage: /usr/bin/python3 tests/test_safe_outputs.py INITBENCH

On a small spec in a temporary folder: rerunning the same spec at the same commit replaces
its folder (same bytes); a changed spec (a --set, or a [quick] profile) is refused with one line
naming the folder and the first differing line of spec.toml, exit 1, every file left as it was;
--force replaces it; a folder whose meta.json names another commit is refused the same way;
--quick without --out writes quick-results/<name>, never results/. Standard library only.
"""

import hashlib
import os
import subprocess
import sys
import tempfile

SPEC = """\
name = "safe"
seed = 1
[data]
kind = "circles"
train = 40
test = 10
[model]
layers = [2, 4, 1]
[train]
lr = 0.1
steps = 6
[quick]
train.steps = 3
"""


def run(initbench, cwd, *args):
    return subprocess.run([initbench, "run", "spec.toml", "--no-plot", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def digest(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            if f in ("timings.csv", "meta.json") or "/.runs" in root:
                continue
            with open(os.path.join(root, f), "rb") as fh:
                out[os.path.relpath(os.path.join(root, f), folder)] = hashlib.sha256(
                    fh.read()).hexdigest()
    return out


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def refused(result, *needles):
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    expect(result.returncode == 1, f"exit 1 expected, got {result.returncode}: {result.stderr}")
    expect(len(lines) == 1, f"one line expected: {result.stderr!r}")
    for n in needles:
        expect(n in lines[0], f"'{n}' not in: {lines[0]}")


def main():
    initbench = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "spec.toml"), "w") as f:
            f.write(SPEC)
        folder = os.path.join(tmp, "out", "safe")
        r = run(initbench, tmp, "--out", "out")
        expect(r.returncode == 0, f"first run: {r.stderr}")
        before = digest(folder)
        r = run(initbench, tmp, "--out", "out")
        expect(r.returncode == 0, f"same spec again: {r.stderr}")
        expect(digest(folder) == before, "same spec, same commit: same bytes")

        r = run(initbench, tmp, "--out", "out", "--set", "train.steps=7")
        refused(r, "out/safe holds results of a different spec or profile",
                "'steps = 6' there, 'steps = 7' here", "--force")
        expect(digest(folder) == before, "a refused run changes nothing")
        r = run(initbench, tmp, "--out", "out", "--quick")
        refused(r, "different spec or profile", "--force")
        expect(digest(folder) == before, "a refused quick run changes nothing")

        r = run(initbench, tmp, "--out", "out", "--set", "train.steps=7", "--force")
        expect(r.returncode == 0, f"--force: {r.stderr}")
        with open(os.path.join(folder, "spec.toml")) as f:
            expect("steps = 7" in f.read(), "--force replaced the results")

        meta = os.path.join(folder, "meta.json")
        with open(meta) as f:
            text = f.read()
        start = text.index('"git_commit": "') + len('"git_commit": "')
        end = text.index('"', start)
        with open(meta, "w") as f:
            f.write(text[:start] + "0123abc" + text[end:])
        r = run(initbench, tmp, "--out", "out", "--set", "train.steps=7")
        refused(r, "holds results of another commit (0123abc; this build is", "--force")

        # --quick without --out: its own folder, never results/
        r = run(initbench, tmp, "--quick")
        expect(r.returncode == 0, f"--quick: {r.stderr}")
        expect(os.path.isfile(os.path.join(tmp, "quick-results", "safe", "runs.csv")),
               "--quick writes quick-results/<name>/")
        expect(not os.path.exists(os.path.join(tmp, "results")), "--quick leaves results/ alone")
    print("ok")


if __name__ == "__main__":
    main()
