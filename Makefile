# The two commands a user needs: `make demo` and `make test`. Both first install whatever
# Debian packages and npm packages (report/) are missing (quietly, and only once), then build.
BUILD ?= build
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 300
SANITIZE_ASAN_OPTIONS := halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=1
SANITIZE_UBSAN_OPTIONS := halt_on_error=1:print_stacktrace=1

DEBIAN_PACKAGES := build-essential cmake ninja-build pkg-config flatbuffers-compiler \
  libflatbuffers-dev libcli11-dev nlohmann-json3-dev libfmt-dev libgtest-dev libgmock-dev \
  libbenchmark-dev libtorch-dev jq bsdextrautils chromium openmpi-bin libopenmpi-dev \
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
FUZZ_PACKAGES := clang libclang-rt-14-dev

.PHONY: all deps build test test-sanitize demo bench bench-mcu bench-kernels fuzz clean

all: build

deps:
	@./tools/install_deps.sh $(DEBIAN_PACKAGES)
	@./tools/install_npm.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Every test again on an AddressSanitizer + UndefinedBehaviorSanitizer build (build-sanitize/):
# any report fails the test that triggered it. Options and suppressions: docs/hardening.md.
test-sanitize: deps
	@cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFRUGAL_SANITIZE=ON \
	  -DFRUGAL_BENCH=OFF >/dev/null
	@cmake --build build-sanitize -j $(JOBS)
	ASAN_OPTIONS=$(SANITIZE_ASAN_OPTIONS) UBSAN_OPTIONS=$(SANITIZE_UBSAN_OPTIONS) FRUGAL_TEST_TIME_SCALE=10 \
	  ctest --test-dir build-sanitize --output-on-failure -j $(JOBS) --timeout 3000

demo: build
	@./tools/demo.sh $(BUILD)/frugal

bench: build
	@./tools/bench_host.sh $(BUILD)

# Every shared model under QEMU (BOARD=nucleo-f446re, COUNT=100 inputs), Markdown tables.
bench-mcu: build
	@./tools/bench_mcu.sh $(BUILD)

# The eight CMSIS-NN anchor layers of ../shared/DESIGN.md with our Cortex-M kernels under QEMU.
bench-kernels: build
	@cmake --build $(BUILD) --target bench_cortexm

# libFuzzer + AddressSanitizer/UBSan build of the parsers, each target run for FUZZ_SECONDS.
fuzz:
	@./tools/install_deps.sh $(DEBIAN_PACKAGES) $(FUZZ_PACKAGES)
	@./tools/install_npm.sh
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFRUGAL_FUZZ=ON -DFRUGAL_TESTS=OFF -DFRUGAL_BENCH=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_tflite_import fuzz_bundle_read fuzz_approx_config
	@./tools/run_fuzz.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) build-fuzz build-sanitize
