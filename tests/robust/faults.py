#!/usr/bin/python3
"""End-to-end fault tests of the initbench binary.

    faults.py BINARY GROUP     GROUP: numeric, interrupt, disk_ulimit, disk_tmpfs (or --list)

numeric      huge learning rates, scales and inputs end as status `diverged` at a step, never an
             abort; every CSV cell is a number, nan/inf, or a known text column.
interrupt    SIGINT, SIGTERM, a double SIGINT and SIGKILL sent to `initbench run` mid-experiment,
             each followed by `--resume`: after each signal every CSV parses completely and holds
             the finished runs; SIGINT/SIGTERM exit with 130; the last --resume ends with files
             byte-identical to an uninterrupted run (all but timings.csv and meta.json).
disk_ulimit  writes that fail (RLIMIT_FSIZE with SIGXFSZ ignored: EFBIG), at the first bundle
             and at the final assembly: a one-line error, exit status 1, no temporary file, every
             CSV complete, and --resume without the limit completes the experiment.
disk_tmpfs   the same on a real full device (a 256 KiB tmpfs); skipped when mount is not allowed.
"""

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import check  # noqa: E402

TIMEOUT = 300


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def run_ok(binary, args, cwd, timeout=TIMEOUT, **kw):
    r = common.run([binary, *args, "--no-plot"], cwd=cwd, timeout=timeout, **kw)
    check(r.returncode == 0 and not r.timed_out, f"expected success:\n{r.describe()}")
    return r


def csv_rows(path):
    with open(path, encoding="utf-8") as f:
        return common.check_csv_text(f.read(), path)


def column(table, name):
    header, rows = table
    k = header.index(name)
    return [row[k] for row in rows]


# ---------------------------------------------------------------------------------------------
# numeric: divergence
# ---------------------------------------------------------------------------------------------

def numeric_spec(name, data, model, extra=""):
    return f"""name = "{name}"
[data]
{data}
[model]
{model}
precision = ["float", "double"]
[init]
scheme = ["he_normal", "normal(stddev=1e30)"]
scale = [1.0, 1e300]
[train]
optimizer = ["momentum", "adam"]
lr = [0.1, 1e30]
steps = 30
eval_every = 5
{extra}
[probes]
every = 5
histograms = true
symmetry = true
jacobian = true
dump_weights = [0]
"""


def check_numeric_folder(folder, expect_diverged=True):
    check(common.check_csv_folder(folder) >= 8, f"{folder}: CSV files missing")
    runs = csv_rows(os.path.join(folder, "runs.csv"))
    statuses = column(runs, "status")
    check(set(statuses) <= {"converged", "not_converged", "diverged", "stalled"},
          f"unknown statuses {set(statuses)}")
    if expect_diverged:
        check("diverged" in statuses, "no run diverged")
    header, rows = runs
    curves = csv_rows(os.path.join(folder, "curves.csv"))
    last_step = {}
    for row in curves[1]:
        last_step[row[0]] = int(row[1])
    for row in rows:
        r = dict(zip(header, row))
        steps_run = int(r["steps_run"])
        check(0 <= steps_run <= 30, f"run {r['run_id']}: steps_run {steps_run}")
        if r["status"] == "diverged":
            # the run stopped at the step it diverged, and its curve ends there
            check(last_step.get(r["run_id"]) == steps_run,
                  f"run {r['run_id']}: diverged at {steps_run}, curve ends at "
                  f"{last_step.get(r['run_id'])}")
    weights = os.path.join(folder, "weights")
    for name in os.listdir(weights) if os.path.isdir(weights) else []:
        check(name.isdigit(), f"weights/{name}")
    return statuses.count("diverged"), len(statuses)


def numeric(binary):
    tally = common.Tally()
    cases = {
        "sigmoid_circles": ('kind = "circles"\ntrain = 64\ntest = 16',
                            'layers = [2, 8, 8, 1]\nactivation = ["relu", "tanh"]'),
        "softmax_spirals": ('kind = "spirals"\nclasses = 3\ntrain = 60\ntest = 15',
                            'layers = [2, 8, 3]\nactivation = "elu"\noutput = "softmax"'),
        "linear_teacher": ('kind = "teacher"\nfeatures = 3\noutputs = 2\ntrain = 40\ntest = 10',
                           'layers = [3, 6, 2]\nactivation = ["identity", "selu"]\n'
                           'output = "linear"'),
    }
    for name, (data, model) in cases.items():
        def one(name=name, data=data, model=model):
            with common.TempDir("numeric") as tmp:
                write(os.path.join(tmp, "spec.toml"), numeric_spec(name, data, model))
                r = run_ok(binary, ["run", "spec.toml", "--out", "out", "--threads", "2"], tmp)
                check("error" not in r.stderr, f"stderr mentions an error:\n{r.stderr[-2000:]}")
                diverged, total = check_numeric_folder(os.path.join(tmp, "out", name))
                check(not common.temporaries(tmp), "temporary files left")
                return f"{diverged} of {total} runs diverged; every CSV cell parses"
        tally.case(name, one)

    # inputs that overflow the network at step 0, and LSUV on features of zero variance
    def data_extremes():
        with common.TempDir("numeric") as tmp:
            big = "a,b,y\n" + "".join(f"{1e300 * (i % 3 - 1)},{i},{i % 2}\n" for i in range(30))
            zero = "a,b,y\n" + "".join(f"0,0,{i % 2}\n" for i in range(30))
            write(os.path.join(tmp, "big.csv"), big)
            write(os.path.join(tmp, "zero.csv"), zero)
            write(os.path.join(tmp, "spec.toml"), f"""name = "extremes"
[data]
kind = "csv"
path = ["big.csv", "zero.csv"]
label = "y"
[model]
layers = [2, 4, 4, 1]
precision = ["float", "double"]
[init]
scheme = ["lsuv", "he_normal", "orthogonal(gain=1e300)"]
[train]
lr = 0.1
steps = 10
eval_every = 2
[probes]
every = 2
histograms = true
symmetry = true
jacobian = true
""")
            run_ok(binary, ["run", "spec.toml", "--out", "out"], tmp)
            diverged, total = check_numeric_folder(os.path.join(tmp, "out", "extremes"),
                                                   expect_diverged=False)
            return f"{diverged} of {total} runs diverged"
    tally.case("data_extremes", data_extremes)
    return tally.result()


# ---------------------------------------------------------------------------------------------
# interrupt: SIGINT, SIGTERM, SIGKILL and --resume
# ---------------------------------------------------------------------------------------------

RUNS = 20


def interrupt_spec(steps):
    return f"""name = "interrupted"
seed = [1, 2, 3, 4, 5]
[data]
kind = "moons"
train = 256
test = 64
[model]
layers = [2, 32, 32, 1]
activation = "tanh"
[init]
scheme = ["he_normal", "glorot_uniform", "orthogonal", "normal(stddev=1e30)"]
[train]
lr = 0.05
batch = 32
steps = {steps}
eval_every = {max(1, steps // 5)}
[probes]
every = {max(1, steps // 5)}
symmetry = true
histograms = true
dump_weights = [0]
"""


def calibrate(binary, tmp):
    """Steps that make one run last about 0.3 s with this build (sanitizers are slower)."""
    write(os.path.join(tmp, "calibrate.toml"), interrupt_spec(200).replace(
        "seed = [1, 2, 3, 4, 5]", "seed = 1").replace(
        'scheme = ["he_normal", "glorot_uniform", "orthogonal", "normal(stddev=1e30)"]',
        'scheme = "he_normal"'))
    run_ok(binary, ["run", "calibrate.toml", "--out", "calibration", "--threads", "1"], tmp)
    timings = csv_rows(os.path.join(tmp, "calibration", "interrupted", "timings.csv"))
    seconds = float(column(timings, "wall_seconds")[0])
    return max(50, min(20000, int(200 * 0.3 / max(seconds, 1e-4))))


def bundles(folder):
    runs = os.path.join(folder, ".runs")
    if not os.path.isdir(runs):
        return 0
    return sum(1 for n in os.listdir(runs) if n.endswith(".bundle"))


def start(binary, args, cwd):
    return subprocess.Popen([binary, *args, "--no-plot"], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def wait_for_bundles(proc, folder, count, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while bundles(folder) < count:
        check(proc.poll() is None, f"initbench ended (status {proc.returncode}) before {count} "
              f"runs completed")
        check(time.monotonic() < deadline, f"fewer than {count} runs completed in {timeout} s")
        time.sleep(0.01)


def finish(proc, timeout=TIMEOUT):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise common.Failure(f"initbench did not stop within {timeout} s of the signal")
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def check_folder_after_interruption(folder):
    """Every CSV parses completely and runs.csv holds exactly the completed runs' rows (when the
    files were assembled)."""
    common.check_csv_folder(folder)
    check(not common.temporaries(folder) or True, "")  # SIGKILL may leave one; --resume cleans
    runs_csv = os.path.join(folder, "runs.csv")
    if os.path.exists(runs_csv):
        ids = column(csv_rows(runs_csv), "run_id")
        check(len(ids) == len(set(ids)), "runs.csv repeats a run")
        check(len(ids) <= bundles(folder), f"runs.csv has {len(ids)} runs, .runs/ "
              f"{bundles(folder)}")
        check(ids == sorted(ids, key=int), "runs.csv is not in grid order")


def handler_ran(proc, sig, timeout=10):
    """Waits until proc no longer catches sig (initbench's handler restores the default action
    when it runs). False when the process ended first."""
    bit = 1 << (int(sig) - 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                caught = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            return False
        if proc.poll() is not None:
            return False
        if not caught & bit:
            return True
    return False


def dead_pid():
    """The id of a process that has ended (for a stale temporary file's name)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def interrupt(binary):
    tally = common.Tally()
    with common.TempDir("interrupt") as tmp:
        steps = calibrate(binary, tmp)
        write(os.path.join(tmp, "spec.toml"), interrupt_spec(steps))
        args = ["run", "spec.toml", "--threads", "2"]
        baseline = os.path.join(tmp, "baseline", "interrupted")
        folder = os.path.join(tmp, "out", "interrupted")
        state = {}

        def uninterrupted():
            t = time.monotonic()
            run_ok(binary, args + ["--out", "baseline"], tmp)
            state["seconds"] = time.monotonic() - t
            check(bundles(baseline) == RUNS, "baseline incomplete")
            common.check_csv_folder(baseline)
            return f"{RUNS} runs of {steps} steps in {state['seconds']:.1f} s"
        if not tally.case("uninterrupted", uninterrupted):
            return tally.result()

        def interrupted_by(signals, resume, expect_status, attempts=3):
            before = bundles(folder)
            proc = start(binary, args + ["--out", "out"] + (["--resume"] if resume else []), tmp)
            late = False
            try:
                wait_for_bundles(proc, folder, before + 2)
                for k, sig in enumerate(signals):
                    if k:
                        # The second signal must come after the first one's handler has run (it
                        # restores the default action; two pending signals would merge into one)
                        # and before the process has finished saving and exited on its own.
                        late = not handler_ran(proc, signals[k - 1])
                        if late:
                            break
                    proc.send_signal(sig)
            finally:
                status, out, err = finish(proc)
            if late and attempts > 1:
                return interrupted_by(signals, True, expect_status, attempts - 1)
            after = bundles(folder)
            check(status == expect_status, f"exit status {status}, expected {expect_status}:\n"
                  f"{err[-2000:]}")
            check(after < RUNS, f"the signal came too late: all {RUNS} runs were complete")
            if expect_status == 130:
                check("interrupted" in err and "--resume" in err,
                      f"no 'interrupted ... --resume' message:\n{err[-1000:]}")
                check(not common.temporaries(folder), f"temporary files left: "
                      f"{common.temporaries(folder)}")
                check(os.path.exists(os.path.join(folder, "runs.csv")), "no runs.csv")
                ids = column(csv_rows(os.path.join(folder, "runs.csv")), "run_id")
                check(len(ids) == after, f"runs.csv holds {len(ids)} runs, {after} completed")
            check_folder_after_interruption(folder)
            return f"stopped with {after}/{RUNS} runs complete (status {status})"

        tally.case("sigint", interrupted_by, [signal.SIGINT], False, 130)
        tally.case("sigterm_resumed", interrupted_by, [signal.SIGTERM], True, 130)
        # a second Ctrl-C ends the process at once, by the signal
        tally.case("double_sigint_resumed", interrupted_by, [signal.SIGINT, signal.SIGINT], True,
                   -signal.SIGINT)
        tally.case("sigkill_resumed", interrupted_by, [signal.SIGKILL], True, -signal.SIGKILL)

        def resumed():
            # what a kill in the middle of a write leaves: a temporary of a process now gone
            stale = os.path.join(folder, f"runs.csv.tmp.{dead_pid()}")
            write(stale, "run_id,exp")
            write(os.path.join(folder, ".runs", f"3.bundle.tmp.{dead_pid()}"), "partial")
            r = run_ok(binary, args + ["--out", "out", "--resume"], tmp)
            check("resuming" in r.stderr, f"no 'resuming' message:\n{r.stderr[-1000:]}")
            check(not common.temporaries(folder), f"temporary files left: "
                  f"{common.temporaries(folder)}")
            check(bundles(folder) == RUNS, f"{bundles(folder)} of {RUNS} runs after --resume")
            a = common.deterministic_files(baseline)
            b = common.deterministic_files(folder)
            check(sorted(a) == sorted(b), f"different files: {sorted(set(a) ^ set(b))}")
            differ = [name for name in a if a[name] != b[name]]
            check(not differ, f"files differ from the uninterrupted run: {differ}")
            common.check_csv_folder(folder)
            return f"{len(a)} files byte-identical to the uninterrupted run"
        tally.case("resume_completes_identically", resumed)
    return tally.result()


# ---------------------------------------------------------------------------------------------
# disk full
# ---------------------------------------------------------------------------------------------

DISK_SPEC = """name = "disk"
seed = [1, 2, 3]
[data]
kind = "circles"
train = 100
test = 20
[model]
layers = [2, 8, 8, 1]
[init]
scheme = ["he_normal", "lecun_normal"]
[train]
lr = 0.1
steps = 40
eval_every = 10
[probes]
every = 10
histograms = true
histogram_bins = 20
histogram_every = 1
symmetry = true
"""


def file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def check_failed_write(r, folder, reason, resume_hint=True):
    info = "\n" + r.describe()
    check(not r.timed_out, f"timed out{info}")
    check(r.returncode == 1, f"exit status {r.returncode}, expected 1{info}")
    lines = r.stderr.rstrip("\n").split("\n")
    errors = [line for line in lines if line.startswith("initbench: error: ")]
    check(len(errors) == 1 and lines[-1] == errors[0], f"not one error line at the end{info}")
    check(reason in errors[0] and "cannot write" in errors[0], f"unclear error{info}")
    if resume_hint:
        check(re.search(r"\(\d+ of \d+ runs are saved in .*: run again with --resume to finish\)$",
                        errors[0]), f"no '... runs are saved ... --resume' in the error{info}")
    check(not common.temporaries(folder), f"temporary files left: {common.temporaries(folder)}")
    common.check_csv_folder(folder)
    return errors[0][len("initbench: error: "):]


def disk_ulimit(binary):
    tally = common.Tally()
    with common.TempDir("disk") as tmp:
        write(os.path.join(tmp, "spec.toml"), DISK_SPEC)
        run_ok(binary, ["run", "spec.toml", "--out", "baseline"], tmp)
        baseline = os.path.join(tmp, "baseline", "disk")
        sizes = {name: os.path.getsize(os.path.join(baseline, name))
                 for name in os.listdir(baseline) if name.endswith(".csv")}
        bundle = max(os.path.getsize(os.path.join(baseline, ".runs", n))
                     for n in os.listdir(os.path.join(baseline, ".runs")))
        check(sizes["histograms.csv"] > 2 * bundle, f"histograms.csv {sizes['histograms.csv']} "
              f"bytes, a bundle {bundle}: the spec does not separate the cases")

        def at(name, limit, expect_bundles):
            out = os.path.join(tmp, name)
            folder = os.path.join(out, "disk")
            r = common.run([binary, "run", "spec.toml", "--out", out, "--no-plot"], cwd=tmp,
                           timeout=TIMEOUT, preexec_fn=file_size_limit(limit))
            message = check_failed_write(r, folder, "File too large", resume_hint=name != "none")
            check(expect_bundles(bundles(folder)), f"{bundles(folder)} runs saved")
            # the work that was saved is kept: --resume without the limit completes it
            run_ok(binary, ["run", "spec.toml", "--out", out, "--resume"], tmp)
            a = common.deterministic_files(baseline)
            b = common.deterministic_files(folder)
            check(a == b, "after --resume the files differ from a run without the limit")
            return message.replace(tmp + os.sep, "")

        # the first bundle does not fit: the run fails, the others stop
        tally.case("first_bundle", at, "small", bundle // 2, lambda n: n == 0)
        # every bundle fits, the assembled histograms.csv does not: all runs are saved
        tally.case("assembly", at, "large", (bundle + sizes["histograms.csv"]) // 2,
                   lambda n: n == 6)
        # not even spec.toml fits
        tally.case("spec_copy", at, "none", 10, lambda n: n == 0)
    return tally.result()


def disk_tmpfs(binary):
    tally = common.Tally()
    with common.TempDir("tmpfs") as tmp:
        mnt = os.path.join(tmp, "mnt")
        os.makedirs(mnt)
        r = common.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt], timeout=30)
        if r.returncode != 0:
            tally.skip("tmpfs_full", f"cannot mount a tmpfs here ({' '.join(r.stderr.split())}); "
                       "the RLIMIT_FSIZE variant (disk_ulimit) covers failed writes")
            return tally.result()
        try:
            def full():
                # runs of about 65 KB each: a few fit on the device, not all six
                write(os.path.join(tmp, "spec.toml"), DISK_SPEC.replace("histogram_bins = 20",
                                                                      "histogram_bins = 40"))
                run_ok(binary, ["run", "spec.toml", "--out", "baseline"], tmp)
                baseline = os.path.join(tmp, "baseline", "disk")
                # an earlier experiment's results on the same device
                write(os.path.join(tmp, "earlier.toml"), DISK_SPEC.replace(
                    'name = "disk"', 'name = "earlier"').replace("seed = [1, 2, 3]", "seed = 1")
                    .replace("histograms = true", "histograms = false"))
                run_ok(binary, ["run", "earlier.toml", "--out", mnt], tmp)
                earlier = common.snapshot(os.path.join(mnt, "earlier"))
                folder = os.path.join(mnt, "disk")
                r = common.run([binary, "run", "spec.toml", "--out", mnt, "--no-plot"], cwd=tmp,
                               timeout=TIMEOUT)
                message = check_failed_write(r, folder, "No space left on device")
                saved = bundles(folder)
                check(1 <= saved < 6, f"{saved} runs saved: the device should hold some, not all")
                check(common.snapshot(os.path.join(mnt, "earlier")) == earlier,
                      "the earlier experiment's files changed")
                common.check_csv_folder(os.path.join(mnt, "earlier"))
                # move what was saved to a roomy disk and finish it there
                moved = os.path.join(tmp, "moved")
                shutil.copytree(mnt, moved)
                r = run_ok(binary, ["run", "spec.toml", "--out", moved, "--resume"], tmp)
                check(f"resuming: {saved} of 6 runs already complete" in r.stderr,
                      f"the saved runs were not reused:\n{r.stderr[-1000:]}")
                check(common.deterministic_files(baseline) ==
                      common.deterministic_files(os.path.join(moved, "disk")),
                      "after --resume the files differ from a run on a roomy disk")
                return f"{saved} runs saved; " + message.replace(tmp + os.sep, "")
            tally.case("tmpfs_full", full)
        finally:
            common.run(["umount", mnt], timeout=30)
    return tally.result()


if __name__ == "__main__":
    sys.exit(common.main({"numeric": numeric, "interrupt": interrupt, "disk_ulimit": disk_ulimit,
                          "disk_tmpfs": disk_tmpfs}, sys.argv))
