#!/usr/bin/env bash
# Build and test cove: a normal tree (build/) and an ASan/UBSan tree
# (build-asan/), running ctest in both; build (no tests) a gcc Release tree
# (build-release/) and a clang Release tree (build-clang/). Every tree is
# built with -Werror (COVE_WERROR=ON). Exit status is non-zero if any build
# or test failed.
#
#   COVE_TEST_LABELS=regex   only run tests whose labels match (ctest -L)
#   COVE_TEST_JOBS=N         parallel ctest jobs (default 2)
#   COVE_SKIP_ASAN=1         skip the sanitizer tree
#   COVE_ASAN_ALL=1          also run the systemd guest (label systemd) in it
#   COVE_SKIP_FUZZ=1         skip the bounded libFuzzer runs of the parsers
#   COVE_FUZZ_TIME=S         seconds per fuzz target (default 30; 8 targets)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
umask 022   # the rootless tests run as another user: trees must be o+rx

jobs=${COVE_TEST_JOBS:-2}
label_args=()
if [ -n "${COVE_TEST_LABELS:-}" ]; then
  label_args=(-L "$COVE_TEST_LABELS")
fi

status=0

# build_tree DIR CMAKE_ARGS...: configure and build with warnings as errors
build_tree() {
  local dir=$1; shift
  echo "=== $dir: configure ($*)"
  if ! cmake -S . -B "$dir" -DCOVE_WERROR=ON "$@"; then
    echo "=== $dir: configure FAILED"; status=1; return 1
  fi
  echo "=== $dir: build"
  if ! cmake --build "$dir" -j"$jobs"; then
    echo "=== $dir: build FAILED"; status=1; return 1
  fi
}

run_tree() {
  local dir=$1
  build_tree "$@" || return
  chmod o+rx "$dir"
  echo "=== $dir: test"
  local skip=()
  # The systemd guest (ctest -L systemd) boots a Debian image under TCG for
  # about 10 minutes: it runs once, in the normal tree, to keep CI well
  # inside its 90 minutes. COVE_ASAN_ALL=1 runs it in the ASan tree too.
  if [ "$dir" = build-asan ] && [ -z "${COVE_ASAN_ALL:-}" ]; then
    skip=(-LE systemd)
  fi
  if ! (cd "$dir" && ctest --output-on-failure -j"$jobs" "${label_args[@]}" "${skip[@]}"); then
    echo "=== $dir: tests FAILED"; status=1
  fi
}

run_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo

# What packagers build: no tests, but any warning fails the run. The
# compiler is fixed when a tree is first configured (CMAKE_C_COMPILER).
build_tree build-release -DCMAKE_BUILD_TYPE=Release
if command -v clang >/dev/null; then
  CC=clang build_tree build-clang -DCMAKE_BUILD_TYPE=Release
else
  echo "=== build-clang: clang not found (scripts/setup.sh installs it)"; status=1
fi

if [ -z "${COVE_SKIP_ASAN:-}" ]; then
  # LeakSanitizer on; abort so a report can't be mistaken for success.
  # The container init is a forked child that execs: leaks there are moot.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  run_tree build-asan -DCOVE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
fi

# Every parser of untrusted bytes under libFuzzer, COVE_FUZZ_TIME seconds
# each (default 30: about 3 minutes for the targets in tests/fuzz): any
# crash, sanitizer report or failed property fails the run.
if [ -z "${COVE_SKIP_FUZZ:-}" ]; then
  echo "=== build-fuzz: configure"
  if CC=clang cmake -S . -B build-fuzz -DCOVE_WERROR=ON -DCOVE_FUZZ=ON -DCOVE_FUZZ_TIME="${COVE_FUZZ_TIME:-30}" >/dev/null &&
     cmake --build build-fuzz -j"$jobs" --target cove_fuzz; then
    echo "=== build-fuzz: each target for ${COVE_FUZZ_TIME:-30} s"
    if ! (cd build-fuzz && ctest --output-on-failure -L fuzz); then
      echo "=== build-fuzz: fuzzing FAILED"; status=1
    fi
  else
    echo "=== build-fuzz: build FAILED"; status=1
  fi
fi

if [ "$status" -ne 0 ]; then
  echo "=== test.sh: FAILED"
else
  echo "=== test.sh: all passed"
fi
exit "$status"
