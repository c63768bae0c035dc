"""Shared helpers of the end-to-end robustness tests (tests/robust/*.py).

Standard library only: they run under Debian's /usr/bin/python3 from ctest, against the real
initbench binary given on the command line.
"""

import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

# A numeric CSV cell as initbench writes it: shortest round-trip decimal, or nan / inf / -inf.
NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^(nan|inf|-inf)$")

# Columns that hold text (docs/csv.md); every other column must hold numbers. Setting columns
# (runs.csv, summary.csv) are named by a dotted key and hold the value as written in the spec;
# histograms.csv's counts are integers separated by spaces.
TEXT_COLUMNS = {"experiment", "scheme", "activation", "layers", "status", "quantity", "counts",
                # runs.csv's verdicts (docs/diagnosis.md)
                "symmetric", "vanishing", "exploding", "saturated", "dead", "phase", "stalled",
                "diverged", "verdict"}


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Result:
    def __init__(self, args, returncode, stdout, stderr, seconds, timed_out):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.timed_out = timed_out

    def describe(self):
        return (f"command: {' '.join(self.args)}\nexit status: {self.returncode}"
                f"{' (timed out)' if self.timed_out else ''}\n"
                f"stderr:\n{self.stderr}\nstdout (last 500 chars):\n{self.stdout[-500:]}")


def run(args, cwd=None, timeout=60, preexec_fn=None, env=None):
    """Runs a command; never raises on failure or timeout (the result says)."""
    start = time.monotonic()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, preexec_fn=preexec_fn, env=env)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        out, err = proc.communicate()
    return Result([str(a) for a in args], proc.returncode, out.decode(errors="replace"),
                  err.decode(errors="replace"), time.monotonic() - start, timed_out)


def as_nobody():
    """preexec_fn that drops root to nobody, so that file permissions apply."""
    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    return drop


def snapshot(folder):
    """{relative path: bytes} of every file under folder ({} if it does not exist)."""
    files = {}
    if not os.path.isdir(folder):
        return files
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder)
            try:
                with open(path, "rb") as f:
                    files[rel] = f.read()
            except OSError:
                files[rel] = None  # unreadable (a permission test): the name still counts
    return files


def temporaries(folder):
    """Leftover temporary files (write_file_atomic's <name>.tmp.<pid>) under folder."""
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            if ".tmp" in name:
                found.append(os.path.relpath(os.path.join(root, name), folder))
    return found


def check_csv_text(text, source):
    """Checks one CSV file: a header, the same field count on every row, numbers that parse
    (or known text columns). Returns (columns, rows)."""
    check(text.endswith("\n") or text == "", f"{source}: does not end with a newline (truncated?)")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    check(len(rows) >= 1, f"{source}: empty (no header)")
    header = rows[0]
    check(all(header), f"{source}: empty column name in the header {header}")
    for n, row in enumerate(rows[1:], start=2):
        check(len(row) == len(header),
              f"{source}:{n}: {len(row)} fields, the header has {len(header)}: {row}")
        for name, cell in zip(header, row):
            if name in TEXT_COLUMNS or "." in name:
                continue
            check(NUMBER.match(cell) is not None,
                  f"{source}:{n}: column '{name}': '{cell}' is not a number (nor nan/inf)")
    return header, rows[1:]


def check_csv_folder(folder):
    """Every *.csv directly in folder parses completely. Returns the number of files checked."""
    count = 0
    for name in sorted(os.listdir(folder)):
        if name.endswith(".csv"):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                check_csv_text(f.read(), path)
            count += 1
    return count


def deterministic_files(folder):
    """Every file of an experiment folder but the clock readings (timings.csv, meta.json) and the
    runner's checkpoints (.runs/, which carry timings too)."""
    return {name: data for name, data in snapshot(folder).items()
            if name not in ("timings.csv", "meta.json") and not name.startswith(".runs" + os.sep)}


class TempDir:
    """A temporary folder, removed unless the test failed (kept for a post-mortem)."""

    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix=f"initbench_{name}_")
        os.chmod(self.path, 0o755)  # readable by the unprivileged user of permission tests
        self.keep = False

    def __enter__(self):
        return self.path

    def __exit__(self, kind, value, tb):
        if kind is None and not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            print(f"(kept {self.path} for inspection)")
        return False


def main(groups, argv):
    """Runs the named group: `script.py BINARY GROUP` (or `--list`). Prints one line per check
    and 'N passed, N failed' at the end; exit status 1 on any failure, 77 when every check was
    skipped."""
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(groups))
        return 0
    if len(argv) != 3 or argv[2] not in groups:
        print(f"usage: {argv[0]} INITBENCH_BINARY GROUP  (groups: {', '.join(groups)})",
              file=sys.stderr)
        return 2
    binary = os.path.abspath(argv[1])
    passed, failed, skipped = groups[argv[2]](binary)
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    if failed:
        return 1
    return 77 if skipped and not passed else 0  # 77: ctest's SKIP_RETURN_CODE


class Tally:
    """Counts named checks; a failing check prints its reason and the test goes on."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def case(self, name, function, *args):
        start = time.monotonic()
        try:
            detail = function(*args)
        except Failure as e:
            self.failed += 1
            print(f"FAIL {name}: {e}")
            return False
        except Exception:  # a bug in the test, or a file missing: this case fails, the rest run
            self.failed += 1
            print(f"FAIL {name}: {traceback.format_exc()}")
            return False
        self.passed += 1
        print(f"ok   {name} ({time.monotonic() - start:.2f} s)")
        if detail:
            print(f"       {detail}")
        return True

    def skip(self, name, why):
        self.skipped += 1
        print(f"skip {name}: {why}")

    def result(self):
        return self.passed, self.failed, self.skipped


def signal_name(returncode):
    if returncode is not None and returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return None
