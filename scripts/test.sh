#!/usr/bin/env bash
# Runs every check and test of waarborg from a clean checkout on a fresh
# machine with Go. Services that tests need are installed from Debian
# packages when missing and started on loopback by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $unformatted ]]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
go run "$STATICCHECK" ./...
echo "== go mod tidy"
go mod tidy -diff
[[ ${1:-} == --check-only ]] && exit 0

source scripts/services.sh
start_services
echo "== go test"
# Test output such as the browser test's screenshots goes to
# $WAARBORG_ARTIFACTS (default test-output/), one directory a test.
artifacts=${WAARBORG_ARTIFACTS:-$PWD/test-output}
mkdir -p "$artifacts"
go test -count=1 -timeout 15m -artifacts -outputdir "$artifacts" ./...
echo "== test output (screenshots) in $artifacts"
