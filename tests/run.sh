#!/usr/bin/env bash
# Runs test programs and scripts, one at a time, and prints one summary line:
# "N passed, N failed, N skipped". Exit status 77 from a test means skipped.
# Each test's output goes to build/test/logs/NAME.log; a failure prints its tail.
# A test that runs longer than CABIN_TEST_TIMEOUT seconds (default 1200) is stopped (TERM,
# then KILL 30 s later) and fails: one hang must not take the whole run with it.
set -u
kind=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
logs=$root/build/test/logs
mkdir -p "$logs"
export CABIN_ROOT=$root
export CABIN_TEST_CABIN=$root/build/test/cabin
export CABIN_TEST_CABIND=$root/build/test/cabind
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
limit=${CABIN_TEST_TIMEOUT:-1200}
pass=0 fail=0 skip=0 failed=()
for t in "$@"; do
	name=${t#"$root"/}
	name=${name#build/test/}
	name=${name%.sh}
	log=$logs/$(printf '%s' "$name" | tr '/' '_').log
	start=${EPOCHREALTIME/[.,]/}
	if [[ $t == *.sh ]]; then
		(cd "$root" && timeout -k 30 "$limit" bash "$t") >"$log" 2>&1
	else
		(cd "$root" && timeout -k 30 "$limit" "$t") >"$log" 2>&1
	fi
	rc=$?
	us=$((${EPOCHREALTIME/[.,]/} - start))
	# 124: timeout stopped it; 137 past the limit: it needed the KILL too
	if [[ $rc -eq 124 ]] || [[ $rc -eq 137 && $us -ge $((limit * 1000000)) ]]; then
		printf 'TIMEOUT: stopped after %s s (CABIN_TEST_TIMEOUT)\n' "$limit" >>"$log"
	fi
	secs=$((us / 1000000)).$((us / 100000 % 10))
	if [[ $rc -eq 0 ]]; then
		pass=$((pass + 1))
		printf 'PASS %-40s %6ss\n' "$name" "$secs"
	elif [[ $rc -eq 77 ]]; then
		skip=$((skip + 1))
		printf 'SKIP %-40s %6ss  %s\n' "$name" "$secs" "$(tail -n 1 "$log")"
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL %-40s %6ss  (exit %d, log %s)\n' "$name" "$secs" "$rc" "${log#"$root"/}"
		tail -n 25 "$log" | sed 's/^/    | /'
	fi
done
[[ ${#failed[@]} -eq 0 ]] || printf 'failed (%s): %s\n' "$kind" "${failed[*]}"
printf '%d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
[[ $fail -eq 0 ]]
