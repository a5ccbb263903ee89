#!/usr/bin/env bash
# Runs each fuzz target given as package:Target for FUZZTIME, one after the
# other, and fails on the first real finding.
#
# Go 1.26's fuzz coordinator has a race at the end of a duration -fuzztime
# (go.dev/issue/75804, fixed in Go 1.27): on a loaded machine a target can end
# with a bare "context deadline exceeded" and no failing input. That run is
# tried once more; a failure that wrote an input, or any other failure, or the
# same race twice in a row, fails the stage.
set -uo pipefail

: "${GO:=go}" "${TAGS:=nosqlite,sqlite_fts5}" "${FUZZTIME:=10s}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

boundary_race() {
	grep -q 'context deadline exceeded' "$log" &&
		! grep -qE 'Failing input written|panic:|^[[:space:]]+[[:alnum:]_]+\.go:[0-9]+:' "$log"
}

for t in "$@"; do
	pkg=${t%%:*} name=${t##*:}
	for try in 1 2; do
		echo "fuzz $pkg $name for $FUZZTIME"
		if "$GO" test -tags "$TAGS" -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1 | tee "$log"; then
			break
		fi
		if [ "$try" = 1 ] && boundary_race; then
			echo "fuzz $pkg $name: ended on Go's -fuzztime boundary race (go.dev/issue/75804), no failing input; once more"
			continue
		fi
		echo "fuzz $pkg $name: FAILED"
		exit 1
	done
done
