#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs every test of xfwd and ends with "N passed, N failed".
#
# Each test program prints one line per case: "ok - NAME" or "not ok - NAME: why".
# selftests/run.sh [-t PATTERN]   runs only the test files whose name matches.
# selftests/run.sh -n NAME        runs the unit cases (selftests/prog) whose name
#                                 or file contains NAME, and the test files whose
#                                 name does (make test T=NAME).
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "selftests need root (namespaces, BPF)"; exit 1; }

pattern='' name=''
case "${1:-}" in
-t) pattern=${2:-} ;;
-n) name=${2:-} ;;
esac

# The fuzzer's slice: every reproducer in selftests/corpus, then 4000 inputs
# against the reference model from a seed that changes with each run (the
# time; FUZZ_SEED=N replays one: `selftests/fuzz -s N -n 4000` alone does too).
fuzz_seed=${FUZZ_SEED:-$(date +%s)}
tests=(selftests/prog_test "selftests/fuzz -s $fuzz_seed -n 4000 -r selftests/corpus")
for t in selftests/test_*.sh; do tests+=("$t"); done
if [ -n "$name" ]; then
	named=()
	for t in "${tests[@]}"; do
		if [[ "$t" == selftests/prog_test* && "$t" != *"$name"* ]]; then
			# The unit cases by name: only when some case is named so.
			[ -n "$(selftests/prog_test -l -t "$name")" ] && named+=("selftests/prog_test -t $name")
		elif [[ "$t" == *"$name"* ]]; then
			named+=("$t")
		fi
	done
	[ ${#named[@]} -gt 0 ] || { echo "no test file or unit case is named like '$name'"; exit 1; }
	tests=("${named[@]}")
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed_files=0
for t in "${tests[@]}"; do
	[ -n "$pattern" ] && [[ "$t" != *$pattern* ]] && continue
	echo "== $t"
	[[ "$t" == selftests/fuzz* ]] && echo "# fuzz seed $fuzz_seed (replay: FUZZ_SEED=$fuzz_seed selftests/run.sh -t fuzz)"
	start=$(date +%s)
	if [[ "$t" == *.sh ]]; then
		bash "$t" 2>&1 | tee -a "$log"
	else
		# shellcheck disable=SC2086 # a binary and its arguments
		$t 2>&1 | tee -a "$log"
	fi
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ] && ! grep -q "^not ok - " <(tail -n 200 "$log"); then
		# A test file that died without saying which case failed still counts.
		echo "not ok - $t exited with status $rc" | tee -a "$log"
	fi
	echo "   ($(( $(date +%s) - start ))s)"
done

pass=$(grep -c "^ok - " "$log")
fail=$(grep -c "^not ok - " "$log")
if [ "$fail" -gt 0 ]; then
	echo
	echo "failures:"
	grep "^not ok - " "$log"
fi
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
