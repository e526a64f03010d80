# pcstate: `make demo` builds and runs the examples; `make test` runs every test.
# Needs only the Rust toolchain, a C compiler and Python 3; anything else is installed on demand.

CARGO   ?= cargo
CC      ?= gcc
CXX     ?= g++
PYTHON  ?= python3

RELEASE  := target/release
LIB_SO   := $(RELEASE)/libpcstate.so
LIB_A    := $(RELEASE)/libpcstate.a
BUILD    := target/c
# What a program linked against the static library needs (cargo --print native-static-libs).
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
WARN     := -Wall -Wextra -Werror
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

VENV     := target/venv
VPY      := $(VENV)/bin/python

PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# cmake: the machine's, or one pip-installed into the test venv.
CMAKE   ?= $(shell command -v cmake || echo $(VENV)/bin/cmake)

SECONDS ?= 60
NIGHTLY := +nightly
VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite

.PHONY: all build demo install uninstall test test-integration example-libnice test-rust test-header test-c test-cpp test-python \
	test-packaging test-stress stress valgrind miri tsan fuzz build-stress bench bench-smoke lint clean

all: build

# The library's SONAME is libpcstate.so.0: give the loader that name beside the build output.
build:
	$(CARGO) build --release
	ln -sf libpcstate.so $(RELEASE)/libpcstate.so.0

$(LIB_SO) $(LIB_A): build

$(BUILD):
	mkdir -p $(BUILD)

# ---- demo -----------------------------------------------------------------------------------
demo: build | $(BUILD)
	$(CC) -std=c99 $(WARN) -Iinclude examples/c/demo.c -o $(BUILD)/demo -L$(RELEASE) -lpcstate -Wl,-rpath,'$$ORIGIN/../release'
	./$(BUILD)/demo
	$(CXX) -std=c++17 $(WARN) -Iinclude examples/cpp/demo.cpp -o $(BUILD)/demo_cpp -L$(RELEASE) -lpcstate \
		-Wl,-rpath,'$$ORIGIN/../release'
	./$(BUILD)/demo_cpp
	PYTHONPATH=bindings/python $(PYTHON) examples/python/demo.py
	PYTHONPATH=bindings/python $(PYTHON) examples/python/asyncio_demo.py

# ---- install ----------------------------------------------------------------------------------
# lib/libpcstate.so.$(VERSION) (+ .so.0, .so links), lib/libpcstate.a, include/pcstate.h(pp),
# lib/pkgconfig/pcstate.pc, lib/cmake/pcstate/; a manifest lets uninstall remove exactly that.
install: build
	scripts/install.sh install "$(DESTDIR)$(PREFIX)" "$(PREFIX)" "$(VERSION)" $(RELEASE) "$(STATIC_LIBS)"

uninstall:
	scripts/install.sh uninstall "$(DESTDIR)$(PREFIX)" "$(PREFIX)"

# ---- tests ----------------------------------------------------------------------------------
test: lint test-rust test-header test-c test-cpp test-python test-packaging test-integration test-stress valgrind bench-smoke
	@echo "make test: all passed"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --features fault-injection -- -D warnings

test-rust:
	$(CARGO) test --features fault-injection

# The committed header is what build.rs generates (tests/header.rs), and compiles alone.
test-header: | $(BUILD)
	$(CARGO) test --test header
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
	$(CXX) -std=c++17 -g -pedantic $(WARN) $(SAN) -Iinclude tests/cpp/test_wrapper.cpp -o $(BUILD)/test_wrapper \
		-L$(RELEASE) -lpcstate -Wl,-rpath,'$$ORIGIN/../release'
	./$(BUILD)/test_wrapper
	$(CXX) -std=c++17 $(WARN) -Iinclude examples/cpp/demo.cpp -o $(BUILD)/demo_cpp -L$(RELEASE) -lpcstate \
		-Wl,-rpath,'$$ORIGIN/../release'
	./$(BUILD)/demo_cpp > /dev/null

test-packaging: build $(VPY)
	@command -v $(CMAKE) >/dev/null || $(VPY) -m pip install -q --disable-pip-version-check cmake
	CMAKE=$(CMAKE) tests/packaging.sh

# The Python binding, pip-installed (with the built library inside) into a venv, tested there.
$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check pytest mypy

test-python: build $(VPY)
	$(VPY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python
	cd $(VENV) && PCSTATE_TEST_INSTALLED=1 bin/python -m pytest -q -p no:cacheprovider ../../bindings/python/tests
	cd bindings/python && ../../$(VPY) -m mypy --strict --no-incremental pcstate

# ---- integration: real libnice agents and OpenSSL DTLS on 127.0.0.1 ---------------------------
# tests/integration/run.sh installs libnice-dev and libssl-dev when missing.
test-integration: build
	tests/integration/run.sh

example-libnice: build
	examples/libnice/run.sh

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
	@command -v valgrind >/dev/null || { echo "make valgrind: installing valgrind"; \
		apt-get install -y -q valgrind >/dev/null; }
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

# ---- performance ------------------------------------------------------------------------------
$(BUILD)/bench: bench/bench.c build | $(BUILD)
	$(CC) -O2 -std=c11 $(WARN) -Iinclude bench/bench.c -o $@ -L$(RELEASE) -lpcstate -lpthread \
		-Wl,-rpath,'$$ORIGIN/../release'

# The full suite: prints the table and writes bench/results.json.
bench: $(BUILD)/bench
	./$(BUILD)/bench --json bench/results.json
	PYTHONPATH=bindings/python $(PYTHON) bench/bench.py --json bench/results.json

# A tiny run inside `make test` so the benchmarks cannot rot (figures not judged).
bench-smoke: $(BUILD)/bench
	./$(BUILD)/bench --scale 0.001 --json $(BUILD)/bench-smoke.json > /dev/null
	PYTHONPATH=bindings/python $(PYTHON) bench/bench.py --scale 0.001 --json $(BUILD)/bench-smoke.json > /dev/null
	$(PYTHON) -c "import json; d = json.load(open('$(BUILD)/bench-smoke.json')); assert d['mutex_pair_ns'] > 0 and d['python_bare_ctypes_ns'] > 0; print('bench smoke: ok,', len(d), 'figures')"

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
