# The two commands of the README: `make serve` and `make test`. Both create/update .venv.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: serve test install lint typecheck proto bench bench-full clean

$(STAMP): pyproject.toml
	@sh tools/system_deps.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/ipsim serve --demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy needs to see the package under its real name: a link farm under build/ gives it `ipsim`.
typecheck: $(STAMP)
	@mkdir -p build/typecheck && ln -sfn ../.. build/typecheck/ipsim
	cd build/typecheck && ../../$(VENV)/bin/mypy --config-file ../../pyproject.toml \
		-p ipsim.engine -p ipsim.models -p ipsim.indexers -p ipsim.server -p ipsim.clients -p ipsim.benchmarks -p ipsim.platform \
		-m ipsim -m ipsim.config -m ipsim.cli -m ipsim.bitwords

test: $(STAMP) lint typecheck
	@sh tools/system_deps.sh test
	$(PY) -m pytest

proto: $(STAMP)
	$(PY) -m tools.gen_proto

# Each benchmark in its quick form (a minute or so each); `make bench-full` records numbers.
BENCHES := batching http_overhead ann quality tanimoto substructure trademark_words figurative mesh mesh_cuda sequence hybrid facets federation gpu faiss_gpu reindex ray encode anomalies
bench: $(STAMP)
	for b in $(BENCHES); do $(PY) -m benchmarks.bench_$$b --quick || exit 1; done

bench-full: $(STAMP)
	for b in $(BENCHES); do $(PY) -m benchmarks.bench_$$b --markdown var/bench/results-$$b.md || exit 1; done

clean:
	rm -rf build .mypy_cache .pytest_cache .ruff_cache
