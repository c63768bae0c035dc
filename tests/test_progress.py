#!/usr/bin/python3
"""ctest: `initbench run` reports progress inside runs.

Usage: /usr/bin/python3 tests/test_progress.py INITBENCH

A spec of 4 runs with different step counts (one stops early at its target) in a temporary
folder. With stderr a pipe: one line per finished run, each with its ETA, and a last line with
the number of runs and the wall time. With stderr a terminal (a pseudo-terminal): a bar redrawn
in place whose percentage never decreases and ends at 100%, with runs done, elapsed time, ETA and
the latest loss, then the same last line. Standard library only.
"""

import os
import pty
import re
import subprocess
import sys
import tempfile

SPEC = """\
name = "progress"
seed = 1
[data]
kind = "circles"
train = 200
test = 20
[model]
layers = [2, 64, 64, 1]
[init]
scheme = ["he_normal", "zeros"]
[train]
lr = 0.05
steps = [3000, 6000]
target_accuracy = 0.9
stop_at_target = true
"""


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main():
    initbench = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "spec.toml"), "w") as f:
            f.write(SPEC)
        args = [initbench, "run", "spec.toml", "--no-plot", "--threads", "1", "--out", "out"]

        piped = subprocess.run(args, cwd=tmp, capture_output=True, text=True, timeout=300)
        expect(piped.returncode == 0, f"run failed: {piped.stderr}")
        lines = piped.stderr.splitlines()
        done = [l for l in lines if re.match(r"initbench: \d/4 runs done: run \d .* ETA \d+:\d\d$", l)]
        expect(len(done) == 4, f"one line per run with its ETA, got: {lines}")
        expect(re.fullmatch(r"initbench: 4 runs in \d+:\d\d wall", lines[-1]) is not None,
               f"a last line with the wall time, got: {lines[-1]!r}")
        expect("\r" not in piped.stderr, "no bar drawn on a pipe")

        # The same on a terminal: stderr (and stdout) on a pseudo-terminal.
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(tmp)
            os.execv(initbench, args + ["--force"])
        out = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        expect(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"tty run failed: {out!r}")
        text = out.decode("utf-8", "replace")
        bars = re.findall(r"\[([#.]{30})\] +(\d+)%  runs (\d)/4  \d+:\d\d elapsed  ETA (\S+)", text)
        expect(len(bars) >= 2, f"a bar redrawn in place, got: {text!r}")
        percents = [int(b[1]) for b in bars]
        expect(percents == sorted(percents), f"the bar never goes back: {percents}")
        expect(percents[-1] == 100 and bars[-1][0] == "#" * 30, f"the bar ends full: {bars[-1]}")
        expect(bars[-1][2] == "4", f"the bar ends with every run done: {bars[-1]}")
        expect(re.search(r"loss [0-9.e+-]+", text) is not None, "the latest loss is shown")
        expect(re.search(r"initbench: 4 runs in \d+:\d\d wall", text) is not None,
               "the last line on a terminal too")
    print("progress: piped and terminal output as documented")


if __name__ == "__main__":
    main()
