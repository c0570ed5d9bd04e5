# A Valgrind-aware CPython: the patch series in patches/, the new files in
# overlay/, and this driver.  `make` builds build/python; README.md has the
# rest.


PREFIX ?= /usr/local
# Extra options for CPython's configure, e.g. CONFIGURE_ARGS=--with-pydebug
CONFIGURE_ARGS ?=
JOBS ?= $(shell nproc)

# CPYTHON=3.13.15 builds another release of source.conf, in its own
# directory; the default release builds in build/.
CPYTHON ?=
BUILD := $(if $(CPYTHON),build/cpython-$(CPYTHON),build)
PYTHON := $(BUILD)/python
export CPYTHON
export BUILD := $(abspath $(BUILD))

.PHONY: all build build-ft build-pydebug deps install worktree export check check-memcheck check-pydebug check-realext bench bench-verdicts bench-memcheck bench-valgrindtest bench-threads demo clean distclean

all: build

deps:
	@tools/install-deps

# Each step below is a no-op when its inputs did not change, so `make` after
# an edit recompiles only what the edit touched.
build: deps
	@tools/prepare-source
	@tools/configure-build -- --with-valgrind --prefix=$(PREFIX) $(CONFIGURE_ARGS)
	@$(MAKE) -C $(BUILD)/obj -j$(JOBS) --no-print-directory > $(BUILD)/make.log 2>&1 \
	    || { tail -n 30 $(BUILD)/make.log; echo "make: CPython build failed (log: $(BUILD)/make.log)"; exit 1; }
	@ln -sfn obj/python $(PYTHON)
	@echo "built $(PYTHON): $$($(PYTHON) -c 'import sys; print(sys.version.split()[0])')"

# The free-threaded variant (configure --disable-gil) of the same prepared
# source, in build/obj-ft: build/python-ft.
build-ft: deps
	@tools/prepare-source
	@tools/configure-build $(BUILD)/src $(BUILD)/obj-ft -- --disable-gil --with-valgrind --prefix=$(PREFIX) $(CONFIGURE_ARGS)
	@$(MAKE) -C $(BUILD)/obj-ft -j$(JOBS) --no-print-directory > $(BUILD)/make-ft.log 2>&1 \
	    || { tail -n 30 $(BUILD)/make-ft.log; echo "make: CPython build failed (log: $(BUILD)/make-ft.log)"; exit 1; }
	@ln -sfn obj-ft/python $(PYTHON)-ft
	@echo "built $(PYTHON)-ft: $$($(PYTHON)-ft -c 'import sys; print(sys.version.split()[0], "free-threaded" if not sys._is_gil_enabled() else "GIL")')"

# The --with-pydebug variant of the same prepared source: its debug hooks
# are always on (Objects/obmalloc_valgrind_debug.h tells Memcheck about
# them).
build-pydebug: deps
	@tools/prepare-source
	@tools/configure-build $(BUILD)/src $(BUILD)/obj-pydebug -- --with-pydebug --with-valgrind --prefix=$(PREFIX) $(CONFIGURE_ARGS)
	@$(MAKE) -C $(BUILD)/obj-pydebug -j$(JOBS) --no-print-directory > $(BUILD)/make-pydebug.log 2>&1 \
	    || { tail -n 30 $(BUILD)/make-pydebug.log; echo "make: CPython build failed (log: $(BUILD)/make-pydebug.log)"; exit 1; }
	@ln -sfn obj-pydebug/python $(PYTHON)-pydebug
	@echo "built $(PYTHON)-pydebug: $$($(PYTHON)-pydebug -c 'import sys; print(sys.version.split()[0], "pydebug")')"

# The main job: valgrind build/python on an extension that leaks.
demo: build
	@$(PYTHON) tools/demo

# The project's tests, then CPython's own tests on the patched build and on
# its free-threaded variant.
check: deps build build-ft valgrind-newest
	@$(PYTHON) tests/run.py

# The seeded-bug and noise checks alone, e.g. on another release:
# make check-memcheck CPYTHON=3.13.15
check-memcheck: deps build
	@$(PYTHON) tests/run.py --quick test_seeded_bugs test_memcheck_noise

# The seeded-bug and noise checks on the pydebug build (README's table).
check-pydebug: deps build-pydebug
	@$(PYTHON)-pydebug tests/run.py --quick --this-build test_seeded_bugs test_memcheck_noise

# Every real extension, on both builds (make check runs a representative
# part: tests/test_real_extensions.py's IN_CHECK classes).
check-realext: deps build build-ft
	@REALEXT=all $(PYTHON) tests/run.py --quick test_real_extensions

# Benchmarks against builds of the same tarball without the series (README).
bench: build
	@$(PYTHON) tools/bench.py

# What a verdict per test costs: python -m memcheck against the plain
# leak-gating run of the same suites (README).
bench-verdicts: build
	@$(PYTHON) tools/bench_verdicts.py

# Memcheck noise, detection and wall time against upstream (README).
bench-memcheck: build
	@$(PYTHON) tools/noise_table.py

bench-valgrindtest: build
	@tools/valgrindtest_timing.sh 1 2

# The thread checkers on build/python-ft: reports of CPython's own with and
# without its annotations, then CPython's ThreadSanitizer modules under
# Helgrind, DRD and Memcheck, resumable (tests/threads/README.md).
bench-threads: build build-ft
	@$(PYTHON) tools/thread_checkers.py --before-after
	@$(PYTHON) tools/thread_checkers.py

# Edit the series in place: build/worktree is a git repository with one
# commit per patch; `make export` writes it back to overlay/ and patches/.
worktree:
	@tools/worktree

export:
	@tools/export

install: build
	$(MAKE) -C $(BUILD)/obj install

clean:
	rm -rf $(BUILD)/obj $(BUILD)/python $(BUILD)/obj-ft $(BUILD)/python-ft $(BUILD)/obj-pydebug $(BUILD)/python-pydebug $(BUILD)/tests

distclean:
	rm -rf $(BUILD)

# Memcheck wall/CPU time and peak memory: pool mode, malloc mode, upstream
# --with-valgrind (Misc/README.valgrind, "Which mode when").
.PHONY: bench-modes
bench-modes: build
	@$(PYTHON) tools/memcheck_modes.py

# --- the whole regression suite under Memcheck -----------------------------
# CPython's tests in 40 shards, one at a time, each `python -m test
# --valgrind -j1 --shard K/40`; resumable: a shard whose result is in
# tests/suite/results/ is skipped.  The table: tests/suite/README.md.
# SHARDS=3,7 runs only those; FORCE=1 reruns recorded shards.
.PHONY: valgrindtest-all valgrindtest-all-table valgrindtest-all-status
valgrindtest-all: build
	@$(PYTHON) tools/valgrindtest-all run $(if $(SHARDS),--only $(SHARDS)) $(if $(FORCE),--force)

valgrindtest-all-table:
	@$(PYTHON) tools/valgrindtest-all table

valgrindtest-all-status:
	@$(PYTHON) tools/valgrindtest-all status

# --- the newest Valgrind, beside the system's ------------------------------
# Built from Debian's source archive into build/valgrind-VERSION/, pinned by
# sha256 in valgrind.conf (tools/fetch-valgrind); a no-op once installed.
.PHONY: valgrind-newest
valgrind-newest:
	@prefix=$$(tools/fetch-valgrind) && echo "$$prefix/bin/valgrind: $$($$prefix/bin/valgrind --version)"
