# chfleet front-end. `make test` and `make demo` work on a fresh Debian 12 machine as root: each installs
# what is missing first (scripts/install-deps.sh), then builds, then runs. The build is configured one way:
# the presets of CMakePresets.json (default: build/, asan: build-asan/).
BUILD_DIR := build
ASAN_DIR := build-asan
JOBS ?= $(shell nproc)

.PHONY: all deps build binary test unit integration asan demo bench format clean install package package-test

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake --preset default

build: $(BUILD_DIR)/build.ninja
	cmake --build --preset default -j $(JOBS)

# The chfleet binary alone (what the demo runs): no tests, no benchmarks.
binary: $(BUILD_DIR)/build.ninja
	cmake --build --preset default -j $(JOBS) --target chfleet

# Everything: unit tests (no servers), then integration tests on real ZooKeeper + clickhouse-server sandboxes.
test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit
	cd $(BUILD_DIR) && ctest --output-on-failure -L package
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

demo: deps binary
	bash scripts/demo.sh $(BUILD_DIR)/chfleet

bench: deps build
	bash bench/sandbox_up.sh $(BUILD_DIR)/chfleet
	bash bench/sync_bench.sh $(BUILD_DIR)/chfleet
	bash bench/ingest_bench.sh $(BUILD_DIR)/chfleet
	bash bench/retention_plan.sh $(BUILD_DIR)/chfleet
	bash bench/ingest_read_bench.sh $(BUILD_DIR)/chfleet
	bash bench/erase_bench.sh $(BUILD_DIR)/chfleet
	bash bench/backup_bench.sh $(BUILD_DIR)/chfleet
	bash bench/monitoring_scrape.sh $(BUILD_DIR)/chfleet

# Installation: the binary, the systemd units, the docs and the example fleet files under PREFIX (default
# /usr/local), staged under DESTDIR when given. The units name the binary by its path under PREFIX.
PREFIX ?= /usr/local
DESTDIR ?=
install: $(BUILD_DIR)/build.ninja
	cmake $(BUILD_DIR) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target chfleet
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR)

# The Debian package (CPack DEB, prefix /usr, dependencies from dpkg-shlibdeps): build/chfleet_<version>_amd64.deb.
package: $(BUILD_DIR)/build.ninja
	cmake $(BUILD_DIR) -DCMAKE_INSTALL_PREFIX=/usr
	cmake --build $(BUILD_DIR) -j $(JOBS) --target chfleet
	cd $(BUILD_DIR) && cpack -G DEB

# Installs the package into a clean Debian 12 root (debootstrap, cached under /var/cache/chfleet-bookworm) and
# runs `chfleet --version` there: see docs/production.md.
package-test: package
	bash packaging/test-clean-install.sh $(BUILD_DIR)

format:
	find src programs tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
