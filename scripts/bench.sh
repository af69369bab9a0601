#!/usr/bin/env bash
# The benchmarks behind docs/performance.md (about 15 minutes on 2 cores).
# Ingest and its baseline run interleaved, so that each ratio compares runs
# of one machine state; machines here are shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-$(mktemp -d)}
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(go version)"
go build -o "$dir/waarborg" ./cmd/waarborg
"$dir/waarborg" simulate --out "$dir/year.jsonl" # a year of a 3-site plant, 3.0M records
head -n 1000000 "$dir/year.jsonl" >"$dir/1m.jsonl"
export WAARBORG_BENCH_FILE=$dir/1m.jsonl

echo "== ingest (1M simulator records) against the raw SQLite insert of the same rows"
for _ in 1 2 3; do
	go test -run '^$' -bench '^BenchmarkIngest$' -benchtime 1x ./cmd/waarborg | grep ^Bench
	go test -run '^$' -bench '^BenchmarkRawInsert$' -benchtime 1x ./sqlite | grep ^Bench
done
echo "== verify, HTTP ingest with 8 clients, inclusion proofs at 10M leaves, parsing"
go test -run '^$' -bench '^BenchmarkVerify$' -benchtime 3x ./cmd/waarborg | grep ^Bench
go test -run '^$' -bench '^BenchmarkPostRecords$' -benchtime 5s -count 3 ./web | grep ^Bench
go test -run '^$' -bench '^BenchmarkInclusionProof$' -benchtime 2000x -count 3 -timeout 30m ./ledger | grep ^Bench
go test -run '^$' -bench '^BenchmarkParseRecord$' -count 3 . | grep ^Bench

echo "== pages: server time per page over the whole year (BenchmarkPages ingests and monitors it first)"
WAARBORG_BENCH_DAYS=365 go test -run '^$' -bench '^BenchmarkPages$' -benchtime 20x -timeout 60m ./web | grep -E '^(Bench|    bench)'

echo "== the whole year through the binary"
rm -rf "$dir/data"
time "$dir/waarborg" ingest -q --data "$dir/data" "$dir/year.jsonl"
time "$dir/waarborg" verify --data "$dir/data"
time "$dir/waarborg" controls --data "$dir/data" --tenant acme-foods --from 2026-01-01 --to 2027-01-01 >/dev/null
rm -rf "$dir"
