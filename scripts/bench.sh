#!/usr/bin/env bash
# The benchmarks behind docs/performance.md (about 30 minutes on 2 cores).
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
# A throwaway PostgreSQL for the PostgreSQL figures, sized for bulk writes
# (docs/operations.md); durable as in production: fsync and
# synchronous_commit stay on.
source scripts/services.sh
trap stop_services EXIT
start_postgres -c shared_buffers=2GB -c max_wal_size=16GB -c checkpoint_timeout=30min -c wal_buffers=64MB

echo "== ingest (1M simulator records) against the raw SQLite insert of the same rows"
for _ in 1 2 3; do
	go test -run '^$' -bench '^BenchmarkIngest$/^sqlite$' -benchtime 1x ./cmd/waarborg | grep ^Bench
	go test -run '^$' -bench '^BenchmarkRawInsert$' -benchtime 1x ./sqlite | grep ^Bench
done
echo "== PostgreSQL ingest (1M simulator records) against the raw COPY of the same rows"
for _ in 1 2 3; do
	go test -run '^$' -bench '^BenchmarkIngest$/^postgres$' -benchtime 1x ./cmd/waarborg | grep ^Bench
	go test -run '^$' -bench '^BenchmarkRawCopy$' -benchtime 1x ./postgres | grep ^Bench
done
echo "== the store's share of ingest alone (ids and segments, no parsing, tree or checkpoints)"
go test -run '^$' -bench '^BenchmarkAdd$' -benchtime 1x ./sqlite ./postgres | grep ^Bench
echo "== verify, HTTP ingest with 8 clients, inclusion proofs at 10M leaves, parsing"
go test -run '^$' -bench '^BenchmarkVerify$' -benchtime 3x ./cmd/waarborg | grep ^Bench # both backends
go test -run '^$' -bench '^BenchmarkPostRecords$' -benchtime 5s -count 3 ./web | grep ^Bench
go test -run '^$' -bench '^BenchmarkInclusionProof$' -benchtime 2000x -count 3 -timeout 30m ./ledger | grep ^Bench
go test -run '^$' -bench '^BenchmarkParseRecord' -benchmem -count 3 . | grep ^Bench

echo "== Sparkplug B end to end: embedded broker, host application, durable ledger"
go test -run '^$' -bench '^BenchmarkSparkplugIngest$' -benchtime 5x -count 3 ./cmd/waarborg | grep ^Bench
echo "== pages: server time per page over the whole year (BenchmarkPages ingests and monitors it first)"
WAARBORG_BENCH_DAYS=365 go test -run '^$' -bench '^BenchmarkPages$' -benchtime 20x -timeout 60m ./web | grep -E '^(Bench|    bench)'

echo "== the whole year through the binary"
rm -rf "$dir/data"
time "$dir/waarborg" ingest -q --data "$dir/data" "$dir/year.jsonl"
time "$dir/waarborg" verify --data "$dir/data"
time "$dir/waarborg" controls --data "$dir/data" --tenant acme-foods --from 2026-01-01 --to 2027-01-01 >/dev/null
echo "== Type II report over the year, against controls over the same year"
WAARBORG_BENCH_DATA=$dir/data go test -run '^$' -bench '^BenchmarkReport$' -benchtime 1x -count 2 -timeout 30m ./cmd/waarborg | grep ^Bench

echo "== the whole year through the binary on PostgreSQL"
pg=(--data "$dir/pgdata" --db "$WAARBORG_TEST_POSTGRES")
time "$dir/waarborg" ingest -q "${pg[@]}" "$dir/year.jsonl"
time "$dir/waarborg" verify "${pg[@]}"
time "$dir/waarborg" controls "${pg[@]}" --tenant acme-foods --from 2026-01-01 --to 2027-01-01 >/dev/null
rm -rf "$dir"
