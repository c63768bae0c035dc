#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages initbench needs, and only those missing.
#
#   scripts/install-deps.sh              install what is missing (as root), else do nothing
#   scripts/install-deps.sh --dry-run    print what would be installed, change nothing
#   scripts/install-deps.sh --list       print the package list, one per line
#   scripts/install-deps.sh PKG...       check/install these packages instead of the list
#   scripts/install-deps.sh --run        only what building and running initbench need
#                                        (`make run`): no test, benchmark or Slurm packages
#   scripts/install-deps.sh --fuzz       the fuzzing tools instead (`make fuzz` only)
#
# DRY_RUN=1 in the environment is the same as --dry-run (`make deps DRY_RUN=1`).
# `apt-get update` runs at most once, and only when something must be installed.
set -euo pipefail

# The one place the package list lives (the Makefile and CI call this script).
# Building and running initbench (`make run`, `--run`).
RUN_PACKAGES=(
  build-essential       # g++, make
  cmake
  libeigen3-dev         # linear algebra
  libsleef-dev          # deterministic vector exp/log1p/tanh/erfc for the kernels
  libfmt-dev            # formatting
  libcli11-dev          # command line
  libtomlplusplus-dev   # experiment files
  zlib1g-dev            # reading the gzipped IDX data sets
  python3-matplotlib    # figures (initbench plot)
  python3-numpy
  python3-pandas
  dataset-fashion-mnist # /usr/share/datasets/fashion-mnist: the shipped experiments' data
)
# Then the tests and benchmarks (`make test`, `make build`, the default).
PACKAGES=(
  "${RUN_PACKAGES[@]}"
  doctest-dev           # unit tests
  libbenchmark-dev      # bench/
  libopenblas-dev       # bench/ only: the peak reference beside our products (and NumPy's BLAS)
  slurmctld             # tests/test_slurm.py: a one-node Slurm cluster to run
  slurmd                #   scripts/slurm_sweep.sh on (the test starts its own daemons; on a
  slurm-client          #   systemd machine only munge's service starts: the Slurm units need
  munge                 #   an /etc/slurm/slurm.conf, which nothing here writes)
  chromium              # tests/test_html_report.py: renders `initbench report`'s page headless
)
# `make fuzz` only (fuzz/): clang with libFuzzer and the sanitizer runtimes. `make test` does
# not need them.
FUZZ_PACKAGES=(
  clang                 # clang 14
  libclang-rt-14-dev    # libFuzzer, ASan and UBSan runtimes for clang 14
)

dry_run="${DRY_RUN:-0}"
[[ "$dry_run" == "0" || -z "$dry_run" ]] && dry_run=0 || dry_run=1
requested=()
for arg in "$@"; do
  case "$arg" in
    --dry-run | -n) dry_run=1 ;;
    --fuzz) PACKAGES=("${FUZZ_PACKAGES[@]}") ;;
    --run) PACKAGES=("${RUN_PACKAGES[@]}") ;;
    --list)
      printf '%s\n' "${PACKAGES[@]}"
      exit 0
      ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "install-deps.sh: unknown option '$arg' (try --help)" >&2
      exit 2
      ;;
    *) requested+=("$arg") ;;
  esac
done
((${#requested[@]})) && PACKAGES=("${requested[@]}")

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps.sh: dpkg-query not found (not Debian?); skipping the package check." \
    "Make sure these are installed: ${PACKAGES[*]}" >&2
  exit 0
fi

# One dpkg-query call for all packages; a package dpkg has never heard of prints nothing (and
# an error we discard), so "missing" = not reported as installed.
installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null |
  awk '$2 == "installed" { print $1 }' || true)"
missing=()
for pkg in "${PACKAGES[@]}"; do
  grep -qxF -- "$pkg" <<<"$installed" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  ((dry_run)) && echo "install-deps.sh: all ${#PACKAGES[@]} packages are installed; nothing to do."
  exit 0
fi

install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if ((dry_run)); then
  echo "install-deps.sh: would install ${#missing[@]} missing package(s): ${missing[*]}"
  echo "install-deps.sh: with: $install_cmd"
  exit 0
fi
if ((EUID != 0)); then
  echo "install-deps.sh: missing packages: ${missing[*]}; as root run: $install_cmd" >&2
  exit 1
fi

echo "install-deps.sh: installing ${#missing[@]} missing package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
