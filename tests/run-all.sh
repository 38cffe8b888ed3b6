#!/bin/sh
# Runs every suite against one build directory and sums their summary lines.
#   sh tests/run-all.sh build        (or build/asan)
# Each suite prints "<suite>: N passed, N failed"; a suite that exits non-zero
# without such a line (a crash) counts as one failure. The last line printed
# is the sum: "N passed, N failed".
BUILD=${1:-build}
export SAFEGRID_BIN="$PWD/$BUILD/safegrid"
log=$(mktemp)
SAFEGRID_TEST_TMP=$(mktemp -d)
export SAFEGRID_TEST_TMP
status=0

run_suite() {
	name=$1; shift
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -E '^(FAIL|ERROR|==[0-9]+==|.*runtime error)' | head -40
	line=$(printf '%s\n' "$out" | grep -E ': [0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		printf '%s\n' "$out" | tail -20
		line="$name: 0 passed, 1 failed"
	elif [ $rc -ne 0 ] && printf '%s' "$line" | grep -q ' 0 failed$'; then
		printf '%s\n' "$out" | tail -20
		line="$name: 0 passed, 1 failed (exit $rc)"
	fi
	echo "$line"
	echo "$line" >>"$log"
}

for t in $(find "$BUILD/tests" -type f -perm -u+x 2>/dev/null | sort); do
	run_suite "$t" "$t"
done
for r in $(find "$BUILD/replay" -type f -perm -u+x 2>/dev/null | sort); do
	n=$(basename "$r")
	run_suite "$n" "$r" "fuzz/corpus/$n"
done
for t in tests/integration/test_*.py; do
	[ -f "$t" ] || continue
	run_suite "$t" python3 "$t"
done
# The console in a real browser (playwright-core driving Debian's chromium).
for t in tests/browser/test_*.mjs; do
	[ -f "$t" ] || continue
	run_suite "$t" node "$t"
done

passed=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/' "$log" | awk '{s+=$1} END {print s+0}')
rm -f "$log"
rm -rf "$SAFEGRID_TEST_TMP"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
