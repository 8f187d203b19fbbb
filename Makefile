# A thin veneer over CMake. `make` builds, `make run` runs the main job on
# the example bundle, `make test` builds and runs every test, `make debug`
# builds without optimisation into build-debug/.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
EXAMPLE ?= examples/marketplace
# The example's orders are from this moment, so its output never changes.
EXAMPLE_NOW ?= 2026-11-20T13:00:00Z

.PHONY: all deps build run test debug clean format

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

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

debug: deps
	cmake -S . -B build-debug -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-debug -j $(JOBS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) build-debug
