# initbench: the two-command set-up. `make run` or `make test` on a fresh Debian 12 machine
# installs what is missing (scripts/install-deps.sh), configures, builds and runs.
#
#   make run        build Release, run the default job (build/src/initbench $(ARGS))
#   make test       build everything, run every test with ctest
#   make build      build everything (Release, into build/)
#   make bench      build the benchmarks
#   make test-asan  ASan+UBSan build in build-asan/, run every test
#   make fuzz       libFuzzer targets (clang) in build-fuzz/, each run FUZZ_SECONDS (30)
#   make format / format-check / tidy / reproduce / deps / clean / help
#
# Every build configuration is a configure preset of CMakePresets.json; this file picks one.
# Variables: PRESET (release; ci: warnings as errors), BUILD_TYPE (the preset's), CMAKE_FLAGS
# (extra cmake -D...), BUILD_DIR (build), JOBS (nproc), CTEST_JOBS (2), SKIP_DEPS=1 (no package check),
# DRY_RUN=1 (with `deps`: print what would be installed), FUZZ_SECONDS, FUZZ_TARGETS.
# A build dir is configured only when it is not yet, or when its cmake flags changed.

PRESET      ?= release
BUILD_TYPE  ?=
CMAKE_FLAGS ?=
BUILD_DIR   ?= build
ASAN_DIR    ?= build-asan
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS  ?= 2
# Debian's Python, which has matplotlib (the python3 on PATH may be another interpreter).
PYTHON      ?= /usr/bin/python3
ARGS        ?=
CLANG_FORMAT ?= clang-format
CLANG_TIDY   ?= clang-tidy
RUN_CLANG_TIDY ?= run-clang-tidy

# Any sanitizer error fails the test: stop at the first error, abort (a non-zero exit ctest
# sees), and print where.
export ASAN_OPTIONS  ?= halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_init_order=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS ?= halt_on_error=1:abort_on_error=1:print_stacktrace=1

SOURCE_DIRS := src include tests bench fuzz
SOURCES = $(shell find $(SOURCE_DIRS) -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) 2>/dev/null | sort)

# A preset sets every option (WERROR and SANITIZE included), and a changed set of arguments
# reconfigures with --fresh, so dropping a flag really resets it.
PRESET_FLAGS = --preset $(PRESET) $(if $(BUILD_TYPE),-DCMAKE_BUILD_TYPE=$(BUILD_TYPE))

.DEFAULT_GOAL := build
.NOTPARALLEL:
MAKEFLAGS += --no-print-directory
.PHONY: help deps deps-run configure build run test bench test-asan configure-asan format format-check \
        tidy reproduce clean fuzz

help:
	@sed -n '1,16p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

deps:
ifneq ($(SKIP_DEPS),1)
	@scripts/install-deps.sh
endif
deps-run:
ifneq ($(SKIP_DEPS),1)
	@scripts/install-deps.sh --run
endif

# configure-dir DIR, cmake arguments: (re)configure DIR unless its stamp already holds exactly
# these arguments. Changed arguments reconfigure with --fresh (a clean cache, kept objects).
define configure-dir
	@args='$(subst ','\'',$(2))'; stamp='$(1)/.initbench-configure'; \
	if [ -f '$(1)/CMakeCache.txt' ] && [ -f "$$stamp" ] && [ "$$(cat "$$stamp")" = "$$args" ]; then \
	  :; \
	else \
	  fresh=; [ -f '$(1)/CMakeCache.txt' ] && fresh=--fresh; \
	  echo "cmake -S . -B $(1) $$fresh $$args"; \
	  eval cmake -S . -B '$(1)' $$fresh "$$args" && printf '%s' "$$args" > "$$stamp"; \
	fi
endef

configure: deps
	$(call configure-dir,$(BUILD_DIR),$(PRESET_FLAGS) $(CMAKE_FLAGS))

build: configure
	cmake --build $(BUILD_DIR) --parallel $(JOBS)

# `make run` needs neither the tests' nor the benchmarks' packages: it configures without them
# (switching between `make run` and `make test` reconfigures, keeping the compiled objects).
run: deps-run
	$(call configure-dir,$(BUILD_DIR),$(PRESET_FLAGS) -DINITBENCH_TESTS=OFF -DINITBENCH_BENCH=OFF $(CMAKE_FLAGS))
	cmake --build $(BUILD_DIR) --parallel $(JOBS) --target initbench
	$(BUILD_DIR)/src/initbench $(ARGS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS)

# Every target defined under bench/ (the generator is Unix Makefiles, so bench/ has a Makefile).
bench: configure
	$(MAKE) -C $(BUILD_DIR)/bench -j$(JOBS)
	@built=$$(find $(BUILD_DIR)/bench -maxdepth 1 -type f -perm -u+x 2>/dev/null | sort); \
	if [ -n "$$built" ]; then printf 'built: %s\n' $$built; else echo "bench: no benchmark targets defined yet"; fi

configure-asan: deps
	$(call configure-dir,$(ASAN_DIR),--preset asan $(CMAKE_FLAGS))

test-asan: configure-asan
	cmake --build $(ASAN_DIR) --parallel $(JOBS)
	ctest --test-dir $(ASAN_DIR) --output-on-failure -j$(CTEST_JOBS)

# libFuzzer (clang, from Debian: `scripts/install-deps.sh --fuzz`) on the spec parser, the IDX
# reader and the CSV readers, under ASan+UBSan. Each target starts from its seed corpus
# (fuzz/corpus/<target>/, read only) and the inputs earlier runs found (build-fuzz/corpus/); a
# failing input is saved as build-fuzz/crash-<target>-* and ends the run with an error: copy it
# to fuzz/regressions/<target>/, where ctest replays it (fuzz.replay.<target>) in every build.
FUZZ_DIR     ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= spec idx csv
fuzz:
ifneq ($(SKIP_DEPS),1)
	@scripts/install-deps.sh --fuzz
endif
	$(call configure-dir,$(FUZZ_DIR),--preset fuzz $(CMAKE_FLAGS))
	cmake --build $(FUZZ_DIR) --parallel $(JOBS) --target $(addprefix initbench_fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t; log=$(FUZZ_DIR)/fuzz-$$t.log; \
	  echo "fuzz $$t: $(FUZZ_SECONDS) s (log: $$log)"; \
	  if $(FUZZ_DIR)/fuzz/initbench_fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	       -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	       -artifact_prefix=$(FUZZ_DIR)/crash-$$t- $(FUZZ_DIR)/corpus/$$t fuzz/corpus/$$t \
	       > $$log 2>&1; then \
	    grep -E '^#[0-9]+ +DONE|stat::(number_of_executed_units|average_exec_per_sec)' $$log; \
	  else \
	    tail -n 60 $$log; \
	    echo "fuzz $$t: failed; the input is in $(FUZZ_DIR)/crash-$$t-*" >&2; exit 1; \
	  fi; \
	done

format:
	@echo "$(CLANG_FORMAT) -i <$(words $(SOURCES)) files under $(SOURCE_DIRS)>"
	@$(CLANG_FORMAT) -i $(SOURCES)

format-check:
	@echo "$(CLANG_FORMAT) --dry-run -Werror <$(words $(SOURCES)) files under $(SOURCE_DIRS)>"
	@$(CLANG_FORMAT) --dry-run -Werror $(SOURCES)

# clang-tidy (.clang-tidy's checks) on the library's and CLI's sources, any finding an error (CI
# runs it). It reads build/compile_commands.json (GCC's flags: hide the GCC-only warning options).
# TIDY_DIRS='src|tests|bench' widens it: clang-tidy 14 cannot parse the tests' structured
# bindings captured by doctest's lambdas (a C++20 feature clang supports from 16).
TIDY_DIRS ?= src
tidy: configure
ifneq ($(SKIP_DEPS),1)
	@scripts/install-deps.sh clang-tidy
endif
	$(RUN_CLANG_TIDY) -clang-tidy-binary $(CLANG_TIDY) -p $(BUILD_DIR) -j $(JOBS) \
	  -quiet -extra-arg=-Wno-unknown-warning-option \
	  '$(CURDIR)/($(TIDY_DIRS))/.*\.cpp$$'

# Every shipped experiment at full size (under an hour on 2 cores), then its figures and the
# numeric tables of results/*/README.md. Runs are deterministic: rerunning leaves `git status`
# clean apart from ignored files (--force: they replace results of earlier commits and specs).
# EXPERIMENTS=experiments/he2015.toml reruns just one.
EXPERIMENTS ?= $(sort $(wildcard experiments/*.toml))
reproduce: configure
	cmake --build $(BUILD_DIR) --parallel $(JOBS) --target initbench
	$(BUILD_DIR)/src/initbench run $(EXPERIMENTS) --out results --no-plot --force
	@for spec in $(EXPERIMENTS); do \
	  name=$$(sed -n 's/^name *= *"\(.*\)"/\1/p' $$spec | head -n 1); \
	  $(PYTHON) scripts/plot.py results/$$name || exit 1; \
	done
	$(PYTHON) scripts/results_tables.py results

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) build-debug build-ci
