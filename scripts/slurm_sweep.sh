#!/usr/bin/env bash
# slurm_sweep.sh: runs an initbench experiment on a Slurm cluster, as a job array of shards and a
# dependent merge job.
#
#   scripts/slurm_sweep.sh SPEC [options] [sbatch options...] [-- sbatch options...]
#
# Task I of the array (I = 1..N) runs `initbench run SPEC --shard I/N` into OUT/shards/<name>/I/
# with --threads from SLURM_CPUS_PER_TASK; the merge job waits for every task to succeed
# (--dependency=afterok) and runs `initbench merge --out OUT OUT/shards/<name>/{1..N}/<name>`,
# giving OUT/<name>/, the same files as an unsharded `initbench run SPEC --out OUT` (timings.csv
# and meta.json aside), figures included: the shards draw none, the merge job draws them where
# the node has matplotlib. A failed task cancels the merge job (--kill-on-invalid-dep).
#
# Options (long form only: the short letters belong to sbatch):
#   --shards N         number of shards = array tasks (default: 8, at most the number of runs;
#                      with --resume, the split already in OUT)
#   --out DIR          output folder (default: results); the experiment ends in DIR/<name>/
#   --initbench PATH   the initbench binary (default: $INITBENCH, else build/src/initbench next
#                      to this script, else initbench on PATH); compute nodes must see it
#   --set KEY=VALUE    passed to initbench (repeatable); --quick: use the spec's [quick] profile
#   --resume           keep the runs already complete in the shards (finish a failed sweep)
#   --max-parallel M   at most M tasks at once (--array=1-N%M)
#   --parsable         print only "ARRAY_JOB_ID MERGE_JOB_ID"
#   --dry-run          check everything, print the job scripts and sbatch commands, submit nothing
#   -h, --help         this text
# Every other argument after SPEC goes to both sbatch calls, in order (e.g. -p short -t 2:00:00
# -c 8 --mem-per-cpu=1G); so does everything after `--`. --array, --dependency and --wrap are
# this script's to set. The merge job gets --ntasks=1 --cpus-per-task=1 after them.
#
# The sweep's folder OUT/shards/<name>/ gets, at submission, spec.toml (a copy of SPEC: editing
# SPEC while the jobs wait changes nothing), the job scripts shard.sh and merge.sh, and logs/ for
# the jobs' output; shard I writes I/<name>/. Relative paths are made absolute; the jobs run in
# the current folder (relative data paths in the spec are read from there). OUT, SPEC and the
# binary must be on a file system the compute nodes share. A task that Slurm requeues resumes its
# shard instead of starting over. Sweeps of different experiments may share OUT.
set -euo pipefail

prog="slurm_sweep.sh"
die() {
  printf '%s: error: %s\n' "$prog" "$*" >&2
  exit 2
}
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

spec=""
out="results"
shards=""
initbench="${INITBENCH:-}"
sets=()
quick=0
resume=0
max_parallel=""
parsable=0
dry_run=0
sbatch_opts=()

# need_value OPTION $#: OPTION must be followed by its value.
need_value() { (($2 >= 2)) || die "$1 needs a value (try --help)"; }
after_sbatch_option=0  # the previous argument was an sbatch option (which may take a value)
while (($#)); do
  arg="$1"
  previous_sbatch=$after_sbatch_option
  after_sbatch_option=0
  case "$arg" in
    -h | --help)
      usage
      exit 0
      ;;
    --)
      shift
      sbatch_opts+=("$@")
      break
      ;;
    --shards=* | --out=* | --initbench=* | --set=* | --max-parallel=*)
      name="${arg%%=*}"
      value="${arg#*=}"
      set -- "$name" "$value" "${@:2}"
      continue
      ;;
    --shards | --out | --initbench | --set | --max-parallel)
      need_value "$arg" $#
      case "$arg" in
        --shards) shards="$2" ;;
        --out) out="$2" ;;
        --initbench) initbench="$2" ;;
        --set) sets+=(--set "$2") ;;
        --max-parallel) max_parallel="$2" ;;
      esac
      shift 2
      continue
      ;;
    --quick) quick=1 ;;
    --resume) resume=1 ;;
    --parsable) parsable=1 ;;
    --dry-run) dry_run=1 ;;
    -a | -a* | --array | --array=* | -d | -d* | --dependency | --dependency=* | --wrap | --wrap=*)
      die "$arg: the job array and the merge job's dependency are set by this script" \
        "(--shards N, --max-parallel M)"
      ;;
    -*)
      [[ -n "$spec" ]] || die "$arg: sbatch options go after SPEC (usage: $prog SPEC [options]" \
        "[sbatch options...]; try --help)"
      sbatch_opts+=("$arg")
      [[ "$arg" == *=* ]] || after_sbatch_option=1
      ;;
    *)
      if [[ -z "$spec" ]]; then
        spec="$arg"
      elif ((previous_sbatch)); then
        sbatch_opts+=("$arg")  # the value of an sbatch option such as -p NAME
      else
        die "unexpected argument '$arg': one SPEC per sweep (try --help)"
      fi
      ;;
  esac
  shift
done

[[ -n "$spec" ]] || die "no SPEC given (usage: $prog SPEC [options] [sbatch options...]; try --help)"
[[ -f "$spec" && -r "$spec" ]] || die "SPEC '$spec' is not a readable file"
# positive OPTION VALUE: VALUE as a decimal number, or an error.
positive() {
  if ! [[ "$2" =~ ^[0-9]{1,9}$ ]] || ((10#$2 < 1)); then
    die "$1 '$2': expected a positive whole number"
  fi
  echo $((10#$2))
}
[[ -z "$shards" ]] || shards="$(positive --shards "$shards")"
[[ -z "$max_parallel" ]] || max_parallel="$(positive --max-parallel "$max_parallel")"
[[ -n "$out" ]] || die "--out: empty folder name"

# The initbench binary.
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "$initbench" ]]; then
  if [[ -x "$script_dir/../build/src/initbench" ]]; then
    initbench="$script_dir/../build/src/initbench"
  elif command -v initbench >/dev/null 2>&1; then
    initbench="$(command -v initbench)"
  else
    die "no initbench binary: not in $script_dir/../build/src/ (make build) nor on PATH;" \
      "name one with --initbench PATH or INITBENCH=PATH"
  fi
fi
[[ -f "$initbench" && -x "$initbench" ]] || die "--initbench '$initbench' is not an executable file"

spec="$(realpath -- "$spec")"
initbench="$(realpath -- "$initbench")"
out="$(realpath -m -- "$out")"
((dry_run)) || command -v sbatch >/dev/null 2>&1 ||
  die "sbatch not found: run this on a Slurm login node (or try --dry-run)"

# An older initbench would fail only in the jobs.
run_help="$("$initbench" run --help 2>&1)" || true
if [[ "$run_help" != *--shard* || "$run_help" != *--no-plot* ]] ||
  ! "$initbench" merge --help >/dev/null 2>&1; then
  die "$initbench has no 'run --shard', 'run --no-plot' or 'merge': an older build? (make build)"
fi

# Check the spec completely now, not when the jobs start, and learn its name and run count.
passthrough=("${sets[@]}")
((quick)) && passthrough+=(--quick)
description="$("$initbench" describe "$spec" "${passthrough[@]}" --threads 1)" ||
  die "initbench rejected the spec (see above); nothing was submitted"
name="$(sed -n '1s/: .*//p' <<<"$description")"
runs="$(sed -n '2s/^\([0-9][0-9]*\) run.*/\1/p' <<<"$description")"
[[ -n "$name" && -n "$runs" ]] ||
  die "cannot read the name and run count from 'initbench describe':"$'\n'"$description"
((runs >= 1)) || die "$spec has no runs"
[[ "$name" != shards ]] ||
  die "an experiment named 'shards' would share its folder $out/shards with the shards;" \
    "rename it (--set name=OTHER) or use another --out"
sweep_dir="$out/shards/$name"
log_dir="$sweep_dir/logs"

# --resume keeps the split of the shards already there (another split would leave runs of the
# old one in the shard folders).
old=""
if ((resume)) && [[ -f "$sweep_dir/1/$name/meta.json" ]]; then
  old="$(sed -n 's/^ *"shard": "1\/\([0-9]*\)".*/\1/p' "$sweep_dir/1/$name/meta.json")"
  if [[ -n "$old" && -n "$shards" && "$old" != "$shards" ]]; then
    die "--resume: the shards in $sweep_dir are split $old ways, not $shards: resume with" \
      "--shards $old (or start afresh without --resume)"
  fi
fi
if [[ -z "$shards" ]]; then
  shards="${old:-$((runs < 8 ? runs : 8))}"
elif ((shards > runs)); then
  ((parsable)) || echo "$prog: $runs runs: $shards shards would leave some empty; using $runs" >&2
  shards="$runs"
fi
job_spec="$sweep_dir/spec.toml"
shard_script="$sweep_dir/shard.sh"
merge_script="$sweep_dir/merge.sh"
q() { printf '%q' "$1"; }
qa() {  # an array, quoted and space-separated
  local s="" a
  for a in "$@"; do s+=" $(q "$a")"; done
  printf '%s' "${s# }"
}

resume_flag=""
((resume == 0)) || resume_flag="--resume"
shard_text="#!/bin/bash
# One shard of initbench experiment '$name' ($runs runs in $shards shards), task I of the
# array runs shard I/$shards. Written by scripts/slurm_sweep.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ).
set -euo pipefail
shard=\"\${SLURM_ARRAY_TASK_ID:?not a Slurm array task}\"
threads=\"\${SLURM_CPUS_PER_TASK:-\${SLURM_CPUS_ON_NODE:-1}}\"
resume=($resume_flag)
# A task Slurm requeued (node failure, preemption) keeps the runs it had finished.
[[ \"\${SLURM_RESTART_COUNT:-0}\" == 0 ]] || resume=(--resume)
echo \"\$(hostname): initbench shard \$shard/$shards, \$threads thread(s)\"
exec $(q "$initbench") run $(q "$job_spec") $(qa "${passthrough[@]}") --no-plot \\
  --out $(q "$sweep_dir")/\"\$shard\" --shard \"\$shard/$shards\" --threads \"\$threads\" \"\${resume[@]}\"
"
merge_text="#!/bin/bash
# Merges the $shards shards of initbench experiment '$name' into $(q "$out/$name").
# Written by scripts/slurm_sweep.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ).
set -euo pipefail
folders=()
for ((i = 1; i <= $shards; ++i)); do folders+=($(q "$sweep_dir")/\"\$i\"/$(q "$name")); done
exec $(q "$initbench") merge --out $(q "$out") \"\${folders[@]}\"
"

# Slurm expands %-patterns in --output (%% is a literal %). A backslash would turn the patterns off
# (one log for every task): the logs then go to Slurm's default, the current folder.
array_cmd=(sbatch --parsable --job-name="initbench-$name" --array="1-$shards${max_parallel:+%$max_parallel}")
merge_cmd=(sbatch --parsable --job-name="initbench-$name-merge" --kill-on-invalid-dep=yes)
if [[ "$log_dir" != *\\* ]]; then
  array_cmd+=("--output=${log_dir//%/%%}/%x-%A_%a.out")
  merge_cmd+=("--output=${log_dir//%/%%}/%x-%j.out")
fi
array_cmd+=("${sbatch_opts[@]}" "$shard_script")
merge_cmd+=("${sbatch_opts[@]}" --ntasks=1 --cpus-per-task=1)

if ((dry_run)); then
  printf '# %s: %s runs in %s shards; would write %s:\n%s\n' "$name" "$runs" "$shards" \
    "$shard_script" "$shard_text"
  printf '# and %s:\n%s\n' "$merge_script" "$merge_text"
  printf '# and copy %s to %s, create %s, then run:\n' "$spec" "$job_spec" "$log_dir"
  printf '%s\n' "$(qa "${array_cmd[@]}")"
  printf '%s\n' "$(qa "${merge_cmd[@]}" --dependency=afterok:ARRAY_JOB_ID "$merge_script")"
  exit 0
fi

# Folders this submission creates, removed again if sbatch refuses the job array.
created=()
d="$sweep_dir"
while [[ ! -e "$d" ]]; do
  created+=("$d")  # deepest first
  d="$(dirname -- "$d")"
done
mkdir -p -- "$log_dir" || die "cannot create $log_dir"
cp -- "$spec" "$job_spec.tmp" && mv -f -- "$job_spec.tmp" "$job_spec"
printf '%s' "$shard_text" >"$shard_script"
printf '%s' "$merge_text" >"$merge_script"
chmod +x "$shard_script" "$merge_script"

# sbatch --parsable prints "ID" or "ID;CLUSTER".
submit() {
  local output
  if ! output="$("$@" </dev/null 2>&1)"; then
    printf '%s\n' "$output" >&2
    return 1
  fi
  output="$(tail -n 1 <<<"$output")"
  output="${output%%;*}"
  [[ "$output" =~ ^[0-9]+$ ]] || {
    printf 'sbatch printed no job id: %s\n' "$output" >&2
    return 1
  }
  printf '%s' "$output"
}
if ! array_id="$(submit "${array_cmd[@]}")"; then
  for d in "${created[@]}"; do
    if [[ "$d" == "$sweep_dir" ]]; then rm -rf -- "$d"; else rmdir -- "$d" 2>/dev/null || true; fi
  done
  die "submitting the job array failed (sbatch said the above); nothing was submitted"
fi
if ! merge_id="$(submit "${merge_cmd[@]}" --dependency="afterok:$array_id" "$merge_script")"; then
  die "the job array $array_id is submitted, but submitting the merge job failed (see above);" \
    "submit it by hand: sbatch --dependency=afterok:$array_id $(q "$merge_script")"
fi

if ((parsable)); then
  printf '%s %s\n' "$array_id" "$merge_id"
else
  printf '%s: %s runs in %s shards\n' "$name" "$runs" "$shards"
  printf 'array job %s: initbench run --shard I/%s -> %s/I/%s (I = 1..%s)\n' "$array_id" \
    "$shards" "$sweep_dir" "$name" "$shards"
  printf 'merge job %s (after every task of %s succeeds) -> %s/%s\n' "$merge_id" "$array_id" \
    "$out" "$name"
  printf 'logs: %s/   watch: squeue -j %s,%s\n' "$log_dir" "$array_id" "$merge_id"
fi
