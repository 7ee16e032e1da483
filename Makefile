# chfleet front-end. `make test` and `make demo` work on a fresh Debian 12 machine as root: each installs
# what is missing first (scripts/install-deps.sh), then builds, then runs.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test unit integration asan demo bench format clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Everything: unit tests (no servers), then integration tests on real ZooKeeper + clickhouse-server sandboxes.
test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

# Unit tests and the sandbox integration test under AddressSanitizer + UndefinedBehaviorSanitizer (preset asan).
# The embedded 26.x engine is left out there on purpose (libchdb.so is not built for the sanitizers): with
# CHFLEET_SKIP_EMBEDDED_ENGINE=1 its tests skip explicitly and say so; anywhere else a missing engine fails them.
asan: deps
	cmake --preset asan
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && CHFLEET_SKIP_EMBEDDED_ENGINE=1 CHFLEET_CHDB_LIB=/nonexistent/libchdb.so ctest --output-on-failure -L unit
	cd $(ASAN_DIR) && ctest --output-on-failure -R integration.sandbox

demo: deps build
	bash scripts/demo.sh $(BUILD_DIR)/chfleet

bench: deps build
	bash bench/sandbox_up.sh $(BUILD_DIR)/chfleet
	bash bench/sync_bench.sh $(BUILD_DIR)/chfleet
	bash bench/ingest_bench.sh $(BUILD_DIR)/chfleet

format:
	find src programs tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
