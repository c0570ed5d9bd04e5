#!/usr/bin/env bash
# Wall time of "python -m test --valgrind" over the noise set of CPython test
# modules (tests/noise/test_modules.txt), at each -j given (default 1 2).
# Usage: tools/valgrindtest_timing.sh [JOBS...]
. "$(dirname "$0")/lib.sh"
modules=$(grep -v '^#' "$TOP/tests/noise/test_modules.txt" | grep -v '^$')
count=$(echo "$modules" | wc -w)
for jobs in "${@:-1 2}"; do
    for j in $jobs; do
        start=$(date +%s)
        env -u PYTHONUNBUFFERED -u PYTHONDONTWRITEBYTECODE \
            "$BUILD/python" -m test --valgrind -j"$j" $modules > "$BUILD/valgrindtest-j$j.log" 2>&1
        status=$?
        end=$(date +%s)
        summary=$(grep -E "^Memcheck: [0-9]+ test files" "$BUILD/valgrindtest-j$j.log")
        printf '%s modules, -j%s: %d s, exit status %d (%s); log: build/valgrindtest-j%s.log\n' \
            "$count" "$j" $((end - start)) "$status" "$summary" "$j"
    done
done
