#!/usr/bin/python3
"""slurm.sweep: scripts/slurm_sweep.sh end to end on a real one-node Slurm cluster.

Brings up munged, slurmctld and slurmd of its own (Debian's munge, slurmctld, slurmd and
slurm-client packages, which scripts/install-deps.sh installs) in a temporary folder: its own
munge key and socket, its own slurm.conf (SLURM_CONF) on two free ports, state, spool, logs and
PID files under the temporary folder, so that it neither needs nor touches a Slurm or munge that
may already run on the machine. Then it writes a small spec (moons, 6 runs at --quick), submits it
with scripts/slurm_sweep.sh as 4 shards plus the merge job, with paths containing spaces, waits for
the merge job (every Slurm command under a timeout), and checks the merged folder against an
unsharded `initbench run` of the same spec: the same files, byte-identical (the figures the merge
job draws included, where matplotlib is installed) but timings.csv, meta.json and the .runs/
checkpoints (which hold the timings). Then it deletes one completed run of a shard, as if it had
been interrupted, and checks that resubmitting with --resume runs just that one and merges to the
same bytes again. About 10 s, and the figures (drawn by the reference run and each merge job).
Finally it cancels its jobs, stops the daemons it started, by PID, and removes its folder; the
daemons also get a parent-death signal, so they end with the test even if it is killed.

Exit status: 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE): not root, Slurm or munge not
installed, or the daemons cannot start here. INITBENCH_SLURM_REQUIRED=1 turns a skip into a
failure (for a CI machine that must run it). INITBENCH_SLURM_KEEP=1 keeps the temporary folder.

  tests/test_slurm.py --initbench build/src/initbench --sweep scripts/slurm_sweep.sh
"""

import argparse
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
START = time.monotonic()
NODE = "initbench-node"
SHARDS = 4
SPEC = """\
name = "slurm_sweep"
description = "slurm_sweep.sh end-to-end test: moons, 3 schemes x 3 seeds (2 at --quick)"
seed = [1, 2, 3]

[data]
kind = "moons"
train = 120
test = 40
noise = 0.1

[model]
layers = [2, 12, 1]
activation = "tanh"

[init]
scheme = ["glorot_uniform", "he_normal", "orthogonal"]

[train]
lr = 0.1
steps = 60
eval_every = 20

[probes]
every = 20
symmetry = true
histograms = true
dump_weights = [60]

[quick]
seed = [1, 2]
"""
TOOLS = {}  # name -> absolute path
RUNS = 6  # 3 schemes x 2 seeds (--quick)
PASSTHROUGH = ["--quick", "--set", "train.lr=0.2"]


class Skip(Exception):
    pass


class Failure(Exception):
    pass


class Stop(Exception):
    """A signal arrived: clean up and leave."""


def log(message):
    print(f"[{time.monotonic() - START:6.2f} s] {message}", flush=True)


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            text = f.read().splitlines()
    except OSError as e:
        return f"  ({path}: {e.strerror})"
    return "\n".join(f"  | {line}" for line in text[-lines:]) or f"  ({path} is empty)"


_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """preexec_fn: SIGTERM when the test process ends, even by SIGKILL (PR_SET_PDEATHSIG)."""
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)


def free_ports(count):
    """Distinct TCP ports that are free now (all sockets open at once, so no repeats)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("0.0.0.0", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Cluster:
    def __init__(self, initbench, sweep):
        self.initbench = initbench
        self.sweep = sweep
        self.tmp = None
        self.daemons = []  # (name, Popen), in start order
        self.jobs = []
        self.env = None
        self.logs = []  # files to show when something fails
        self.work = None  # the experiment's folder
        self.binary = None  # the copy of initbench the jobs run

    # -- commands --------------------------------------------------------------------------

    def run(self, cmd, timeout, cwd=None, check=True):
        try:
            p = subprocess.run(cmd, env=self.env, cwd=cwd, capture_output=True, text=True,
                               timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Failure(f"timed out after {timeout} s: {' '.join(cmd)}")
        if check and p.returncode != 0:
            raise Failure(f"{' '.join(cmd)} exited with {p.returncode}:\n{p.stdout}{p.stderr}")
        return p

    def start(self, name, cmd, **kwargs):
        out = open(os.path.join(self.tmp, "log", f"{name}.out"), "w")
        self.logs.append(out.name)
        p = subprocess.Popen(cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        out.close()
        self.daemons.append((name, p))
        log(f"started {name} (pid {p.pid})")
        return p

    def wait_for(self, what, ready, timeout, daemon=None):
        deadline = time.monotonic() + timeout
        while True:
            if ready():
                return
            if daemon is not None and daemon.poll() is not None:
                raise Skip(f"{what}: the daemon exited with status {daemon.returncode}\n"
                           + self.show_logs())
            if time.monotonic() > deadline:
                raise Skip(f"{what}: not ready after {timeout} s\n" + self.show_logs())
            time.sleep(0.2)

    def show_logs(self):
        """The tails of the logs that exist: the jobs' first, then the daemons'."""
        paths = [p for p in self.logs if os.path.exists(p)]
        paths.sort(key=lambda p: not (self.work and p.startswith(self.work)))
        return "\n".join(f"{path}:\n{tail(path)}" for path in paths)

    # -- set-up ----------------------------------------------------------------------------

    def check_prerequisites(self):
        if os.geteuid() != 0:
            raise Skip("needs root (slurmd runs jobs as root here, munged as user munge)")
        # Daemons live in /usr/sbin, which a root shell's PATH may lack.
        path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])
        missing = []
        for tool in ("munged", "setpriv", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo",
                     "scontrol", "scancel"):
            TOOLS[tool] = shutil.which(tool, path=path)
            if TOOLS[tool] is None:
                missing.append(tool)
        try:
            pwd.getpwnam("munge")
        except KeyError:
            missing.append("user munge")
        if missing:
            raise Skip(f"Slurm is not installed (missing: {', '.join(missing)}); as root, "
                       "scripts/install-deps.sh installs it (slurmctld slurmd slurm-client munge)")

    def bring_up(self):
        self.tmp = tempfile.mkdtemp(prefix="initbench-slurm-")
        os.chmod(self.tmp, 0o755)  # munged (user munge) must reach its socket folder
        for sub in ("log", "state", "spool", "run", "etc"):
            os.mkdir(os.path.join(self.tmp, sub), 0o755)
        # A clean environment: nothing from an enclosing Slurm job or user defaults.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_", "SQUEUE_",
                                         "SINFO_", "SCONTROL_", "SCANCEL_"))}
        conf = os.path.join(self.tmp, "etc", "slurm.conf")
        self.env["SLURM_CONF"] = conf
        self.env["PATH"] = os.pathsep.join([os.path.dirname(TOOLS["sbatch"]),
                                            self.env.get("PATH", "/usr/bin:/bin")])

        # munge: its own key, socket, log, PID and seed files, owned by user munge.
        munge = pwd.getpwnam("munge")
        mdir = os.path.join(self.tmp, "munge")
        os.mkdir(mdir, 0o755)
        key = os.path.join(mdir, "munge.key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(os.urandom(1024))
        for path in (mdir, key):
            os.chown(path, munge.pw_uid, munge.pw_gid)
        sock = os.path.join(mdir, "munge.socket")
        munged = self.start("munged", [
            TOOLS["setpriv"], "--reuid=munge", "--regid=munge", "--init-groups",
            "--pdeathsig=TERM", TOOLS["munged"], "-F", f"--socket={sock}", f"--key-file={key}",
            f"--log-file={mdir}/munged.log", f"--pid-file={mdir}/munged.pid",
            f"--seed-file={mdir}/munged.seed"])
        self.wait_for("munged", lambda: os.path.exists(sock), 10, munged)

        # slurm.conf: no accounting, no cgroups (their plugins make every job fail here).
        ctld_port, slurmd_port = free_ports(2)
        host = socket.gethostname().split(".")[0]
        plugstack = os.path.join(self.tmp, "etc", "plugstack.conf")
        open(plugstack, "w").close()  # not the system's SPANK plugins
        t = self.tmp
        with open(conf, "w") as f:
            f.write(f"""\
ClusterName=initbenchtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={t}/state
SlurmdSpoolDir={t}/spool
SlurmctldPidFile={t}/run/slurmctld.pid
SlurmdPidFile={t}/run/slurmd.pid
SlurmctldLogFile={t}/log/slurmctld.log
SlurmdLogFile={t}/log/slurmd.log
PlugStackConfig={plugstack}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=5
SchedulerParameters=batch_sched_delay=0
NodeName={NODE} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=initbench Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
""")
        log(f"slurm.conf: {conf} (controller {host}:{ctld_port}, slurmd :{slurmd_port})")
        self.logs += [f"{t}/log/slurmctld.log", f"{t}/log/slurmd.log"]

        ctld = self.start("slurmctld", [TOOLS["slurmctld"], "-D", "-f", conf],
                          preexec_fn=die_with_parent)

        def controller_up():
            p = self.run([TOOLS["scontrol"], "ping"], timeout=5, check=False)
            return p.returncode == 0 and "UP" in p.stdout
        self.wait_for("slurmctld", controller_up, 20, ctld)

        slurmd = self.start("slurmd", [TOOLS["slurmd"], "-D", "-N", NODE, "-f", conf],
                            preexec_fn=die_with_parent)

        def node_idle():
            p = self.run([TOOLS["sinfo"], "-h", "-N", "-n", NODE, "-o", "%t"], timeout=5, check=False)
            return p.returncode == 0 and p.stdout.strip() == "idle"
        self.wait_for("slurmd", node_idle, 30, slurmd)
        log(f"node {NODE} is idle")

    # -- the experiment --------------------------------------------------------------------

    def experiment(self):
        work = self.work = os.path.join(self.tmp, "work dir")  # paths with spaces, everywhere
        os.mkdir(work)
        spec = os.path.join(work, "my spec.toml")
        with open(spec, "w") as f:
            f.write(SPEC)
        bin_dir = os.path.join(work, "bin dir")
        os.mkdir(bin_dir)
        self.binary = os.path.join(bin_dir, "initbench")
        shutil.copy2(self.initbench, self.binary)
        out = os.path.join(work, "sweep out")
        sweep_dir = os.path.join(out, "shards", "slurm_sweep")
        merged = os.path.join(out, "slurm_sweep")

        # The reference: an unsharded run, started first, finished meanwhile.
        whole = os.path.join(self.tmp, "whole")
        reference = subprocess.Popen(
            [self.initbench, "run", spec, *PASSTHROUGH, "--out", whole, "--threads", "1"],
            cwd=work, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        # 1. A sweep from the work folder, with relative paths and sbatch options (one with its
        # value as a separate argument).
        self.sweep_and_wait(["--shards", str(SHARDS)], sweep_dir, first=True)
        try:
            ref_out, _ = reference.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            reference.kill()
            raise Failure("the unsharded reference run took over 60 s")
        if reference.returncode != 0:
            raise Failure(f"the unsharded reference run failed:\n{ref_out}")
        # Each shard ran its part, with the threads Slurm gave it (-c 1).
        for i in range(1, SHARDS + 1):
            with open(os.path.join(sweep_dir, str(i), "slurm_sweep", "meta.json")) as f:
                meta = f.read()
            for expected in (f'"shard": "{i}/{SHARDS}"', '"threads": 1'):
                if expected not in meta:
                    raise Failure(f"shard {i}'s meta.json lacks {expected}:\n{meta}")
        compare(merged, os.path.join(whole, "slurm_sweep"))
        with open(os.path.join(merged, "runs.csv")) as f:
            rows = len(f.read().splitlines()) - 1
        if rows != RUNS:
            raise Failure(f"runs.csv has {rows} runs, expected {RUNS} (--quick not passed on?)")

        # 2. A shard that lost a run (as if interrupted): resubmitting with --resume (and no
        # --shards: the split already there) runs just that one, and the merge is the same again.
        # Which runs shard 2 owns depends on the run-key hash: take whichever bundle it holds.
        runs_dir = os.path.join(sweep_dir, "2", "slurm_sweep", ".runs")
        bundles = sorted(f for f in os.listdir(runs_dir) if f.endswith(".bundle"))
        if len(bundles) != 2:
            raise Failure(f"shard 2 holds {len(bundles)} run bundles, expected 2: {bundles}")
        os.remove(os.path.join(runs_dir, bundles[0]))
        shutil.rmtree(merged)
        array_id = self.sweep_and_wait(["--resume"], sweep_dir, first=False)
        with open(os.path.join(sweep_dir, "logs", f"initbench-slurm_sweep-{array_id}_2.out")) as f:
            shard2 = f.read()
        if "resuming: 1 of 2 runs already complete" not in shard2:
            raise Failure(f"shard 2 did not resume:\n{shard2}")
        compare(merged, os.path.join(whole, "slurm_sweep"))

    def sweep_and_wait(self, options, sweep_dir, first):
        cmd = [self.sweep, "my spec.toml", *options, "--out", "sweep out", "--initbench",
               self.binary, *PASSTHROUGH, "--parsable", "-c", "1", "--time", "5"]
        p = self.run(cmd, timeout=60, cwd=self.work)
        ids = p.stdout.split()
        if len(ids) != 2 or not all(i.isdigit() for i in ids):
            raise Failure(f"slurm_sweep.sh --parsable printed {p.stdout!r}, expected two job ids;"
                          f" stderr:\n{p.stderr}")
        array_id, merge_id = ids
        self.jobs = ids
        log(f"submitted{'' if first else ' with --resume'}: array job {array_id}, "
            f"merge job {merge_id}")
        state = self.wait_for_job(array_id, merge_id, timeout=90)
        logs = os.path.join(sweep_dir, "logs")
        job_logs = [n for n in sorted(os.listdir(logs)) if f"-{array_id}_" in n
                    or n.endswith(f"-{merge_id}.out")] if os.path.isdir(logs) else []
        self.logs += [os.path.join(logs, name) for name in job_logs]
        if state != "COMPLETED":
            raise Failure(f"the merge job {merge_id} ended {state}\n" + self.show_logs())
        log(f"merge job {merge_id} COMPLETED; job logs: {', '.join(job_logs)}")
        if len(job_logs) != SHARDS + 1:
            raise Failure(f"expected {SHARDS} task logs and a merge log in {logs}: {job_logs}")
        return array_id

    def wait_for_job(self, array_id, job_id, timeout):
        """Polls squeue until the merge job ends; returns its final state."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            p = self.run([TOOLS["squeue"], "-h", "-t", "all", "-o", "%F|%i|%T|%r"], timeout=10)
            jobs = [line.split("|") for line in p.stdout.splitlines() if line.count("|") == 3]
            jobs = [j for j in jobs if j[0] in (array_id, job_id)]
            mine = [j for j in jobs if j[1] == job_id]
            summary = ", ".join(f"{j[1]} {j[2]}" for j in jobs)
            if summary != last:
                log(f"squeue: {summary or '(empty)'}")
                last = summary
            if not mine:
                return "GONE (purged before its end state was seen)"
            state = mine[0][2]
            if state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL",
                         "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"):
                return state + (f" ({mine[0][3]})" if mine[0][3] not in ("None", "") else "")
            if time.monotonic() > deadline:
                raise Failure(f"job {job_id} still {state} after {timeout} s\n"
                              + self.show_logs())
            time.sleep(0.3)

    # -- clean-up --------------------------------------------------------------------------

    def tear_down(self):
        if self.jobs and self.daemons:
            self.run([TOOLS["scancel"], *self.jobs], timeout=10, check=False)
        for name, p in reversed(self.daemons):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
            log(f"stopped {name} (pid {p.pid})")
        self.daemons = []
        if self.tmp and os.environ.get("INITBENCH_SLURM_KEEP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp:
            log(f"kept {self.tmp}")


def files_of(folder):
    """Relative path -> bytes, but timings.csv, meta.json and .runs/ (clock readings)."""
    files = {}
    for root, dirs, names in os.walk(folder):
        rel_root = os.path.relpath(root, folder)
        if rel_root == "." and ".runs" in dirs:
            dirs.remove(".runs")
        for name in names:
            rel = os.path.normpath(os.path.join(rel_root, name))
            if rel in ("timings.csv", "meta.json"):
                continue
            with open(os.path.join(root, name), "rb") as f:
                files[rel] = f.read()
    return files


def compare(merged, whole):
    a, b = files_of(merged), files_of(whole)
    if not b:
        raise Failure(f"the unsharded run wrote nothing into {whole}")
    problems = []
    for rel in sorted(set(a) | set(b)):
        if rel not in a:
            problems.append(f"{rel}: missing from the merged folder")
        elif rel not in b:
            problems.append(f"{rel}: only in the merged folder")
        elif a[rel] != b[rel]:
            problems.append(f"{rel}: differs")
    if problems:
        raise Failure("merged folder != unsharded run:\n  " + "\n  ".join(problems))
    folders = sorted({r.split(os.sep)[0] + "/" for r in a if os.sep in r})
    log(f"merged folder == unsharded run: {len(a)} files byte-identical "
        f"({', '.join(sorted(r for r in a if os.sep not in r) + folders)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--initbench", required=True, help="the initbench binary")
    parser.add_argument("--sweep", required=True, help="scripts/slurm_sweep.sh")
    args = parser.parse_args()
    initbench = os.path.abspath(args.initbench)
    sweep = os.path.abspath(args.sweep)

    def on_signal(signum, _frame):
        raise Stop(f"signal {signum}")
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    cluster = Cluster(initbench, sweep)
    status = 0
    try:
        cluster.check_prerequisites()
        try:
            cluster.bring_up()
        except Failure as e:  # a Slurm command failing before the cluster is up
            raise Skip(f"cannot start Slurm here: {e}")
        cluster.experiment()
        log("PASS")
    except Skip as e:
        required = os.environ.get("INITBENCH_SLURM_REQUIRED") == "1"
        print(f"{'FAIL (INITBENCH_SLURM_REQUIRED=1)' if required else 'SKIP'}: {e}", flush=True)
        status = 1 if required else SKIP
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        status = 1
    except Stop as e:
        print(f"FAIL: interrupted ({e})", flush=True)
        status = 1
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)  # finish cleaning up
        cluster.tear_down()
    log(f"done ({'pass' if status == 0 else 'skip' if status == SKIP else 'fail'})")
    return status


if __name__ == "__main__":
    sys.exit(main())
