# A thin veneer over CMake. `make` builds, `make run` runs the main job on
# the example bundle, `make test` builds and runs every test (the suite,
# then each fuzz target for FUZZ_SECONDS, then the suite again under
# AddressSanitizer and UBSan), `make unit` only the suite, `make debug`
# builds without optimisation into build-debug/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
EXAMPLE ?= examples/marketplace
# The example's orders are from this moment, so its output never changes.
EXAMPLE_NOW ?= 2026-11-20T13:00:00Z

# Seconds each fuzz target runs in `make test` and `make fuzz`.
FUZZ_SECONDS ?= 30

.PHONY: all deps build run test unit fuzz asan debug clean format

all: build

deps:
	@.ci/install-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# The main job: the example bundle deployed to a fresh SQLite database, its
# orders and a day of events run through the engine on their own clock, and
# one order's history as an auditor reads it.
EXAMPLE_DB ?= $(BUILD)/example.db

run: build
	$(BUILD)/orderflow check $(EXAMPLE)
	$(BUILD)/orderflow eval --bundle $(EXAMPLE) --orders $(EXAMPLE)/orders/sample.jsonl --now $(EXAMPLE_NOW) --format text
	rm -f $(EXAMPLE_DB) $(EXAMPLE_DB)-wal $(EXAMPLE_DB)-shm
	$(BUILD)/orderflow deploy $(EXAMPLE) --db $(EXAMPLE_DB)
	$(BUILD)/orderflow run --db $(EXAMPLE_DB) --events $(EXAMPLE)/orders/sample.jsonl --clock events --format text
	$(BUILD)/orderflow run --db $(EXAMPLE_DB) --events $(EXAMPLE)/events/day-one.jsonl --clock events --format text --until 2026-11-22T00:00:00Z
	$(BUILD)/orderflow audit AMZ-407-1184403 --db $(EXAMPLE_DB)

test: unit fuzz asan

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Coverage-guided fuzzing (tests/fuzz/README.md): clang with libFuzzer,
# AddressSanitizer and UBSan; the corpus and crashes are in tests/fuzz.
fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 \
	  -DCMAKE_CXX_COMPILER=clang++-19 -DORDERFLOW_FUZZ=ON -DORDERFLOW_SANITIZE=address,undefined
	cmake --build build-fuzz -j $(JOBS) --target fuzz_connectors fuzz_order_decoder fuzz_lsp fuzz_fmt fuzz_checker fuzz_engines
	tests/fuzz/run_fuzz.sh build-fuzz $(FUZZ_SECONDS)

# The whole suite built with AddressSanitizer and UBSan (GCC).
asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORDERFLOW_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)
	cd build-asan && LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp ctest --output-on-failure -j $(JOBS)

debug: deps
	cmake -S . -B build-debug -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-debug -j $(JOBS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) build-debug build-fuzz build-asan
