# make run  — set up (idempotent) and run the agent on its embedded default pipeline
# make test — set up and run the whole test suite
.PHONY: setup run test validate clean

PY := .venv/bin/python
CONFIG ?=
PYTEST_ARGS ?=

setup:
	@./scripts/setup.sh

run: setup
	@exec .venv/bin/otel-linnix run $(if $(CONFIG),--config $(CONFIG))

test: setup
	@.venv/bin/ruff check otel_linnix tests bench scenarios examples
	@.venv/bin/mypy
	@$(PY) -m pytest $(PYTEST_ARGS)

validate: setup
	@for f in pipelines/*.yaml; do .venv/bin/otel-linnix validate --config $$f || exit 1; done

clean:
	rm -rf .venv .pytest_cache build *.egg-info otel_linnix/native.json
	find otel_linnix -name '*.so' -delete

# make bench [QUICK=1] — the benchmark harness (root: loads BPF); prints the table and writes
# bench/results/ (QUICK=1: the < 2 min smoke run, into bench/results/quick/; PROFILE=1: py-spy
# the agent in one extra fork storm, into agent-profile.txt)
.PHONY: bench bench-detect
bench: setup
	@$(PY) -m bench.run $(if $(QUICK),--quick) $(if $(PROFILE),--profile)

# make bench-detect — benign corpus (configure+make of a Debian source package, builds, apt,
# pip, a test suite, shell loops, git) and trouble corpus (fork bomb, fork flood, leaks, CPU
# spin, runaway tree) under the agent with the shipped rules: precision / recall / lead time,
# into bench/results/detect.md (root: loads BPF; ONLY="name ..." runs some items)
bench-detect: setup
	@$(PY) -m bench.detect $(if $(ONLY),--only $(ONLY))
