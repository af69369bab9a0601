# The whole test suite: `make test`. It sets up what it needs itself.
.PHONY: test bench check demo

test:
	bash scripts/test.sh

# Static checks alone (test runs them too).
check:
	bash scripts/test.sh --check-only

# Benchmarks behind docs/performance.md.
bench:
	bash scripts/bench.sh

demo:
	go run ./cmd/waarborg demo
