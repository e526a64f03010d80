# pcstate: `make demo` builds and runs the examples; `make test` runs every test.
# Needs only the Rust toolchain, a C compiler and Python 3; anything else is installed on demand.

CARGO   ?= cargo
CC      ?= gcc
CXX     ?= g++
PYTHON  ?= python3

# The ABI policy (docs/packaging.md, "Versions and ABI"): the SONAME is libpcstate.so.0.MINOR while the
# version is 0.x, libpcstate.so.MAJOR from 1.0 (build.rs sets it; install.sh follows it).
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION)))
VERSION_MINOR := $(word 2,$(subst ., ,$(VERSION)))
ABI      := $(if $(filter 0,$(VERSION_MAJOR)),0.$(VERSION_MINOR),$(VERSION_MAJOR))
SONAME   := libpcstate.so.$(ABI)

RELEASE  := target/release
LIB_SO   := $(RELEASE)/libpcstate.so
LIB_A    := $(RELEASE)/libpcstate.a
BUILD    := target/c
# What a program linked against the static library needs (cargo --print native-static-libs).
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
WARN     := -Wall -Wextra -Werror
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Release builds carry no debug info and no symbol table (Cargo.toml); DEBUGINFO=1 keeps both,
# for every cargo call of this run (e.g. `make build DEBUGINFO=1`, `make valgrind DEBUGINFO=1`).
DEBUGINFO ?=
ifeq ($(DEBUGINFO),1)
export CARGO_PROFILE_RELEASE_DEBUG := true
export CARGO_PROFILE_RELEASE_STRIP := none
endif

# The test and packaging tools (pytest, mypy, cmake, auditwheel, build, twine, conan), pinned, in a venv.
VENV     := target/venv
VPY      := $(VENV)/bin/python
REQUIREMENTS := scripts/requirements.txt
VENV_OK  := $(VENV)/.requirements
PIP      := $(VPY) -m pip install -q --disable-pip-version-check
CMAKE   ?= $(CURDIR)/$(VENV)/bin/cmake
# Python builds compile the crate with setuptools-rust in a target dir of their own (its flags
# differ from `make build`'s), with the pinned build backend.
PY_CARGO := $(CURDIR)/target/python-cargo
PY_BUILD_ENV := CARGO_TARGET_DIR=$(PY_CARGO) PIP_CONSTRAINT=$(CURDIR)/$(REQUIREMENTS)
WHEELS   := target/wheels
DOCS     := target/docs

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR ?=

SECONDS ?= 60
NIGHTLY := +nightly
VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite

.PHONY: all build demo install uninstall wheel docs test test-integration example-libnice test-gstreamer \
	example-gstreamer test-conan test-publish test-rust test-header test-c \
	test-cpp test-python test-packaging test-docs test-stress stress valgrind miri tsan fuzz build-stress bench \
	bench-smoke bench-instructions loom lint clean browser-traces test-browser-replay test-rust-api test-pipe-wakeup

all: build

# The shared library is stripped by the release profile; the archive is stripped here (cargo does
# not strip archives) of debug info and of the LLVM bitcode rustc embeds for Rust-side LTO, which
# no C linker reads. A link named after the SONAME sits beside the build output for the loader.
build:
	$(CARGO) build --release
ifneq ($(DEBUGINFO),1)
	strip --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd $(LIB_A)
endif
	@find $(RELEASE) -maxdepth 1 -type l -name 'libpcstate.so.*' ! -name $(SONAME) -delete
	ln -sf libpcstate.so $(RELEASE)/$(SONAME)

$(LIB_SO) $(LIB_A): build

$(BUILD):
	mkdir -p $(BUILD)

# ---- demo -----------------------------------------------------------------------------------
demo: build | $(BUILD)
	@$(CC) -std=c99 $(WARN) -Iinclude examples/c/demo.c -o $(BUILD)/demo -L$(RELEASE) -lpcstate -Wl,-rpath,'$$ORIGIN/../release'
	@$(CXX) -std=c++17 $(WARN) -Iinclude examples/cpp/demo.cpp -o $(BUILD)/demo_cpp -L$(RELEASE) -lpcstate \
		-Wl,-rpath,'$$ORIGIN/../release'
	@printf '\n==== C: examples/c/demo.c ====\n'
	@./$(BUILD)/demo
	@printf '\n==== C++: examples/cpp/demo.cpp ====\n'
	@./$(BUILD)/demo_cpp
	@printf '\n==== Rust: examples/rust/demo.rs ====\n'
	@$(CARGO) run -q --release --example rust_demo
	@printf '\n==== Python: examples/python/demo.py ====\n'
	@PYTHONPATH=bindings/python $(PYTHON) examples/python/demo.py
	@printf '\n==== Python asyncio: examples/python/asyncio_demo.py ====\n'
	@PYTHONPATH=bindings/python $(PYTHON) examples/python/asyncio_demo.py
	@printf '\n==== Python server: examples/python/observability_server.py (1,000 peers) ====\n'
	@PYTHONPATH=bindings/python $(PYTHON) examples/python/observability_server.py
	@printf '\nmake demo: finished: the C, C++, Rust, Python, Python asyncio and server demos ran\n'

# ---- install ----------------------------------------------------------------------------------
# Copies what `make build` made (it never runs cargo, so `sudo make install` works after a build):
# LIBDIR/libpcstate.so.$(VERSION) (+ $(SONAME) and libpcstate.so links), LIBDIR/libpcstate.a,
# INCLUDEDIR/pcstate.h(pp), LIBDIR/pkgconfig/pcstate.pc, LIBDIR/cmake/pcstate/; a manifest in
# PREFIX/share/pcstate lets uninstall remove exactly that.
install:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" LIBDIR="$(LIBDIR)" INCLUDEDIR="$(INCLUDEDIR)" VERSION="$(VERSION)" \
		RELEASE="$(RELEASE)" STATIC_LIBS="$(STATIC_LIBS)" scripts/install.sh install

uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" scripts/install.sh uninstall

# ---- Python wheel -----------------------------------------------------------------------------
# An sdist, then a wheel built from it (setuptools-rust compiles the crate the sdist carries), into
# target/wheels; auditwheel reports the manylinux tag the wheel qualifies for, and twine checks both
# as PyPI would (metadata, README rendering). The crate's own units are dropped from the cache
# first: each sdist unpacks to a new path, so they would pile up.
wheel: $(VENV_OK)
	rm -rf $(WHEELS)
	rm -rf $(PY_CARGO)/release/deps/*pcstate* $(PY_CARGO)/release/.fingerprint/pcstate-* \
		$(PY_CARGO)/release/build/pcstate-*
	$(PY_BUILD_ENV) $(VPY) -m build --outdir $(WHEELS) bindings/python > target/wheel-build.log 2>&1 \
		|| { cat target/wheel-build.log; exit 1; }
	$(VPY) scripts/check_wheel.py $(WHEELS)
	$(VPY) -m twine --no-color check --strict $(WHEELS)/*

# ---- API reference ----------------------------------------------------------------------------
# The C header and the C++ wrapper through Doxygen (target/docs/html; scripts/deps.sh installs
# doxygen when missing), the Python package through pdoc (target/docs/python/index.html). Every
# public item must have a doc comment: `make test-docs` fails on any warning of either (but pdoc's
# note that the public classes, re-exported with __module__ "pcstate", have their fields elsewhere).
docs: build $(VENV_OK)
	scripts/deps.sh docs
	rm -rf $(DOCS) && mkdir -p $(DOCS)
	( cat Doxyfile; echo "PROJECT_NUMBER = $(VERSION)" ) | doxygen - > $(DOCS)/doxygen.log
	PCSTATE_LIBRARY=$(CURDIR)/$(LIB_SO) PYTHONPATH=bindings/python $(VPY) -W error -W 'ignore:Cannot determine where:UserWarning' \
		-m pdoc --no-show-source \
		-o $(DOCS)/python pcstate 2> $(DOCS)/pdoc.log || { cat $(DOCS)/pdoc.log; exit 1; }
	@echo "make docs: $(DOCS)/html/index.html ($$(grep -c -E 'warning|error' $(DOCS)/warnings.log) Doxygen warnings in $(DOCS)/warnings.log), $(DOCS)/python/index.html"

# ---- tests ----------------------------------------------------------------------------------
test: lint test-rust loom test-rust-api test-header test-c test-cpp test-python test-pipe-wakeup test-packaging \
	test-conan test-publish test-docs test-integration test-gstreamer test-browser-replay test-stress valgrind \
	bench-smoke
	@echo "make test: all passed"

# Formatting, clippy, and the static-library link list against what rustc prints.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --features fault-injection -- -D warnings
	CARGO_TARGET_DIR=$(PIPE_TARGET) $(CARGO) clippy --all-targets --features fault-injection,pipe-wakeup -- -D warnings
	scripts/check_static_libs.sh

test-rust:
	$(CARGO) test --features fault-injection

# The safe Rust API (its tests run in test-rust): the rustdoc is warning-free, the example runs, and
# a program outside the crate using the pinned names builds by path and runs, without cbindgen.
test-rust-api:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps
	$(CARGO) run -q --example rust_demo > /dev/null
	CARGO=$(CARGO) tests/rust_consumer.sh

# The committed header and ABI manifest are what the sources generate (tests/header.rs; rewrite
# both with `PCSTATE_BLESS=1 cargo test --test header`), the manifest agrees with the library's
# exports, a C compiler and the C++ wrapper (tests/abi_manifest.rs), and the header compiles alone.
test-header: | $(BUILD)
	$(CARGO) test --test header --test abi_manifest
	printf '#include "pcstate.h"\nint main(void) { return 0; }\n' > $(BUILD)/header_c.c
	$(CC) -std=c99 -pedantic $(WARN) -Iinclude -c $(BUILD)/header_c.c -o $(BUILD)/header_c.o
	printf '#include "pcstate.h"\nint main() { return 0; }\n' > $(BUILD)/header_cpp.cpp
	$(CXX) -std=c++17 -pedantic $(WARN) -Iinclude -c $(BUILD)/header_cpp.cpp -o $(BUILD)/header_cpp.o

# The C test program, linked against the shared and the static library, under ASan + UBSan.
test-c: build | $(BUILD)
	$(CC) -std=c99 -g $(WARN) $(SAN) -Iinclude tests/c/test_api.c -o $(BUILD)/test_api_shared \
		-L$(RELEASE) -lpcstate -Wl,-rpath,'$$ORIGIN/../release'
	$(CC) -std=c99 -g $(WARN) $(SAN) -Iinclude tests/c/test_api.c -o $(BUILD)/test_api_static \
		$(LIB_A) $(STATIC_LIBS)
	./$(BUILD)/test_api_shared
	./$(BUILD)/test_api_static

# The C++ wrapper: compiles strictly, its tests under ASan + UBSan, and the C++ demo.
test-cpp: build | $(BUILD)
	$(CXX) -std=c++17 -pedantic $(WARN) -Iinclude -x c++ -fsyntax-only include/pcstate.hpp
	CXX="$(CXX)" tests/cpp/nodiscard.sh
	CXX="$(CXX)" tests/cpp/warnings.sh
	$(CXX) -std=c++17 -g -pedantic $(WARN) $(SAN) -Iinclude tests/cpp/test_wrapper.cpp -o $(BUILD)/test_wrapper \
		-L$(RELEASE) -lpcstate -Wl,-rpath,'$$ORIGIN/../release'
	./$(BUILD)/test_wrapper
	$(CXX) -std=c++17 $(WARN) -Iinclude examples/cpp/demo.cpp -o $(BUILD)/demo_cpp -L$(RELEASE) -lpcstate \
		-Wl,-rpath,'$$ORIGIN/../release'
	./$(BUILD)/demo_cpp > /dev/null

# Install/uninstall, SONAME and links, stripping, relocation, the pkg-config and CMake consumers,
# the wheel, and a fresh copy of the repository pip-installed into a new venv (tests/packaging.sh).
test-packaging: build wheel $(VENV_OK)
	CMAKE=$(CMAKE) VPY=$(CURDIR)/$(VPY) PY_CARGO=$(PY_CARGO) REQUIREMENTS=$(CURDIR)/$(REQUIREMENTS) \
		WHEELS=$(WHEELS) tests/packaging.sh

# Conan: the recipe in packaging/conan creates the shared and the static package in a brand-new
# CONAN_HOME with no remote, and its CMake test_package links pcstate::pcstate to each (tests/conan.sh).
test-conan: $(VENV_OK)
	VENV_BIN=$(CURDIR)/$(VENV)/bin tests/conan.sh

# crates.io: `cargo package` carries exactly the crate, `cargo publish --dry-run` passes
# (tests/publish.sh; the Python sdist and wheel get `twine check` in `make wheel`).
test-publish:
	CARGO=$(CARGO) tests/publish.sh

# The API reference lists every function the library exports.
test-docs: docs build
	PYTHON=$(VPY) scripts/check_docs.sh $(LIB_SO) $(DOCS)

# The tools, pinned; reinstalled when scripts/requirements.txt changes.
$(VENV_OK): $(REQUIREMENTS)
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r $(REQUIREMENTS)
	cp $(REQUIREMENTS) $@

# The Python binding, pip-installed (setuptools-rust builds the library into the package) into the
# venv, tested there.
test-python: build $(VENV_OK)
	$(PY_BUILD_ENV) $(PIP) --force-reinstall --no-deps ./bindings/python
	cd $(VENV) && PCSTATE_TEST_INSTALLED=1 bin/python -m pytest -q -p no:cacheprovider ../../bindings/python/tests
	cd bindings/python && ../../$(VPY) -m mypy --strict --no-incremental pcstate

# ---- the pipe wake-up backend ----------------------------------------------------------------
# macOS, iOS and the BSDs have no eventfd: their event queue wakes through a non-blocking pipe
# (src/wakeup.rs). The `pipe-wakeup` feature selects that backend on Linux, built into a target
# dir of its own; the event-queue tests of Rust, C and Python run against it here (test-rust,
# test-c and test-python run them against the eventfd).
PIPE_TARGET := target/pipe
PIPE_RELEASE := $(PIPE_TARGET)/release
PIPE_PYTESTS := bindings/python/tests/test_pcstate.py bindings/python/tests/test_guarantees.py \
	bindings/python/tests/test_observability.py
# The Python binding from the source tree, loading the pipe-backend library.
PIPE_PY := PCSTATE_LIBRARY=$(CURDIR)/$(PIPE_RELEASE)/libpcstate.so PYTHONPATH=bindings/python $(VPY)

test-pipe-wakeup: $(VENV_OK) | $(BUILD)
	CARGO_TARGET_DIR=$(PIPE_TARGET) $(CARGO) test --features pipe-wakeup --lib -- wakeup queue
	CARGO_TARGET_DIR=$(PIPE_TARGET) $(CARGO) test --features pipe-wakeup --test rust_api_delivery --test api \
		--test guarantees --test no_memory -- event fd queue wake overflow close
	CARGO_TARGET_DIR=$(PIPE_TARGET) $(CARGO) build --release --features pipe-wakeup
	ln -sf libpcstate.so $(PIPE_RELEASE)/$(SONAME)
	$(CC) -std=c99 -g $(WARN) $(SAN) -Iinclude tests/c/test_api.c -o $(BUILD)/test_api_pipe \
		-L$(PIPE_RELEASE) -lpcstate -Wl,-rpath,'$$ORIGIN/../pipe/release'
	./$(BUILD)/test_api_pipe
	$(PIPE_PY) -c "import os, stat, pcstate; pc = pcstate.PeerConnection(event_queue=True); \
		assert stat.S_ISFIFO(os.fstat(pc.fileno()).st_mode), 'not the pipe backend'"
	$(PIPE_PY) -m pytest -q -p no:cacheprovider $(PIPE_PYTESTS) \
		-k "event or queue or fileno or overflow or history or every_method"

# ---- integration: real libnice agents and OpenSSL DTLS on 127.0.0.1 ---------------------------
# tests/integration/run.sh installs libnice-dev and libssl-dev when missing (scripts/deps.sh).
test-integration: build
	tests/integration/run.sh

example-libnice: build
	examples/libnice/run.sh

# ---- browsers: real Chromium and Firefox ESR recordings (docs/browser-parity.md) ---------------
# Re-records tests/browser/traces/ (root; about 3 minutes; not part of `make test`): each scenario
# headless in a network namespace of its own; installs chromium and firefox-esr when missing.
browser-traces:
	scripts/deps.sh browsers
	$(PYTHON) tests/browser/record.py

# The committed recordings fed into pcstate (no browser needed).
test-browser-replay: build
	PYTHONPATH=bindings/python $(PYTHON) tests/browser/replay.py

# ---- GStreamer webrtcbin: two elements negotiate a data channel on 127.0.0.1 ------------------
# pcstate fed from each element's DTLS and ICE transports reaches connected on both sides, with a
# data channel only and with an audio transceiver bundled on it; close reads closed (each run
# bounded at 20 s). examples/gstreamer/run.sh installs GStreamer with scripts/deps.sh when missing.
test-gstreamer: build
	examples/gstreamer/run.sh --check
	examples/gstreamer/run.sh --check --audio

example-gstreamer: build
	examples/gstreamer/run.sh

# ---- reliability ------------------------------------------------------------------------------
build-stress:
	$(CARGO) build --release --example stress

# A few seconds in `make test`; `make stress SECONDS=600` for a long run.
test-stress: build-stress
	$(RELEASE)/examples/stress --seconds 3

stress: build-stress
	$(RELEASE)/examples/stress --seconds $(SECONDS)

# The C test program and a short stress run under valgrind memcheck: no errors, nothing
# definitely lost.
valgrind: build build-stress | $(BUILD)
	scripts/deps.sh valgrind
	$(CC) -std=c99 -g $(WARN) -Iinclude tests/c/test_api.c -o $(BUILD)/test_api_plain \
		-L$(RELEASE) -lpcstate -Wl,-rpath,'$$ORIGIN/../release'
	$(VALGRIND) ./$(BUILD)/test_api_plain
	$(VALGRIND) $(RELEASE)/examples/stress --seconds 2 --threads 2 --peers 8

# Undefined-behaviour checks on nightly; each says clearly when it cannot run here.
miri:
	@if cargo $(NIGHTLY) miri --version >/dev/null 2>&1; then \
		echo "make miri: running the unit and model tests under Miri"; \
		MIRIFLAGS=-Zmiri-disable-isolation cargo $(NIGHTLY) miri test --lib && \
		MIRIFLAGS=-Zmiri-disable-isolation cargo $(NIGHTLY) miri test --test model_based; \
	else echo "make miri: SKIPPED: no nightly toolchain with Miri here (rustup component add miri --toolchain nightly)"; fi

tsan:
	@if cargo $(NIGHTLY) --version >/dev/null 2>&1 && rustup component list --toolchain nightly --installed 2>/dev/null | grep -q rust-src; then \
		echo "make tsan: running the threaded tests under ThreadSanitizer"; \
		RUSTFLAGS=-Zsanitizer=thread RUSTDOCFLAGS=-Zsanitizer=thread TSAN_OPTIONS=halt_on_error=1 \
		cargo $(NIGHTLY) test -Zbuild-std --target x86_64-unknown-linux-gnu --target-dir target/tsan --test api && \
		RUSTFLAGS=-Zsanitizer=thread TSAN_OPTIONS=halt_on_error=1 \
		cargo $(NIGHTLY) run -Zbuild-std --target x86_64-unknown-linux-gnu --target-dir target/tsan \
			--example stress -- --seconds 10; \
	else echo "make tsan: SKIPPED: needs a nightly toolchain with rust-src"; fi

fuzz:
	@if cargo $(NIGHTLY) --version >/dev/null 2>&1; then \
		command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked; \
		echo "make fuzz: fuzzing api_sequence for $(SECONDS) s"; \
		cd fuzz && cargo $(NIGHTLY) fuzz run api_sequence -- -max_total_time=$(SECONDS); \
	else echo "make fuzz: SKIPPED: needs a nightly toolchain"; fi

# The delivery protocol (outings, waiters, the wait graph) model-checked with loom
# (src/loom_models.rs): every interleaving of each model's threads up to LOOM_MAX_PREEMPTIONS
# preemptions; prints how many each model explored. 20 explores them all (a larger bound finds
# no more) in about 2 s; 3 is a quick run. Its own build (--cfg loom swaps the locks for
# loom's), in its own target directory; clippy-checked in that configuration too.
LOOM_MAX_PREEMPTIONS ?= 20
LOOM_ENV := RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom
loom:
	$(LOOM_ENV) $(CARGO) clippy --lib --tests -- -D warnings
	$(LOOM_ENV) LOOM_MAX_PREEMPTIONS=$(LOOM_MAX_PREEMPTIONS) $(CARGO) test --lib loom_models -- --nocapture \
		--test-threads=1

# ---- performance ------------------------------------------------------------------------------
$(BUILD)/bench: bench/bench.c build | $(BUILD)
	$(CC) -O2 -std=c11 $(WARN) -Iinclude bench/bench.c -o $@ -L$(RELEASE) -lpcstate -lpthread \
		-Wl,-rpath,'$$ORIGIN/../release'

# valgrind (callgrind counts instructions), installed by scripts/deps.sh when missing.
NEED_VALGRIND = @scripts/deps.sh valgrind

# The full suite: prints the tables and writes bench/results.json (times, then instruction counts).
bench: $(BUILD)/bench
	./$(BUILD)/bench --json bench/results.json
	PYTHONPATH=bindings/python $(PYTHON) bench/bench.py --json bench/results.json
	$(MAKE) --no-print-directory bench-instructions

# Instructions per operation under callgrind (repeatable on a busy machine), with their ratios to
# an uncontended mutex pair beside the time ratios; merged into bench/results.json.
bench-instructions: $(BUILD)/bench
	$(NEED_VALGRIND)
	$(PYTHON) bench/instructions.py --bench $(BUILD)/bench --json bench/results.json

# A tiny run inside `make test` so the benchmarks cannot rot (figures not judged).
bench-smoke: $(BUILD)/bench
	./$(BUILD)/bench --scale 0.001 --json $(BUILD)/bench-smoke.json > /dev/null
	PYTHONPATH=bindings/python $(PYTHON) bench/bench.py --scale 0.001 --json $(BUILD)/bench-smoke.json > /dev/null
	$(NEED_VALGRIND)
	$(PYTHON) bench/instructions.py --quick --bench $(BUILD)/bench --json $(BUILD)/bench-smoke.json > /dev/null
	$(PYTHON) -c "import json; d = json.load(open('$(BUILD)/bench-smoke.json')); assert d['mutex_pair_ns'] > 0 and d['python_bare_ctypes_ns'] > 0 and d['instructions_mutex_pair'] > 0; print('bench smoke: ok,', len(d), 'figures')"

# Every build leftover: cargo's, the Python builds' (setuptools build/, egg-info, dist, a library
# an editable install put into the package), caches, the consumers' programs.
clean:
	rm -rf target fuzz/target bindings/python/build bindings/python/dist bindings/python/*.egg-info \
		bindings/python/pcstate/libpcstate.so dist .mypy_cache bindings/python/.mypy_cache .pytest_cache
	rm -f examples/consumers/pkg-config/consumer_shared examples/consumers/pkg-config/consumer_static
	rm -rf packaging/conan/test_package/build packaging/conan/test_package/CMakeUserPresets.json
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
