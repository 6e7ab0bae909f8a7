# jaxexplain developer tasks. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
export XLA_FLAGS ?= --xla_force_host_platform_device_count=2
export JAX_PLATFORMS ?= cpu

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-all test-decisions coverage mutate lint bench clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,libs]'
	touch $(STAMP)

venv: $(STAMP) ## Create the virtual environment and install jaxexplain with its dev tools.

# The demo needs jaxexplain and JAX only: no dev tools, and pip shows its progress.
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e .
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP) ## Install jaxexplain alone, then explain the transformer sample (2 layers) and a failing trace.
	$(BIN)/jaxexplain trace samples/transformer.py:transformer --args-from samples/transformer.py:layers_2 --color always
	-$(BIN)/jaxexplain trace samples/conditional.py:conditional_double --arg x=f32[8] --static threshold=0.5 --no-compile --color always

test: $(STAMP) ## Set up, then run the whole test suite (browser tests install Chromium when root).
	-@sh scripts/install-browser.sh
	$(BIN)/python -m pytest -q

test-all: ## Run the suite over (Python, JAX) cells from jax 0.4.38 to 0.12, one venv each; TEST_ALL_ARGS=subset.
	@sh scripts/test-all.sh

test-decisions: ## Run the decision tests under Pythons 3.11 to 3.13 (settrace vs sys.monitoring).
	@TEST_ALL_MATRIX="3.11:0.10.2 3.12:0.12.1 3.13:0.12.1" sh scripts/test-all.sh tests/test_decisions_*.py tests/test_py_compat.py

coverage: ## Run the suite under coverage.py on Python 3.12+; the last line gives line and branch figures.
	@sh scripts/coverage.sh

# The mutants in scope: every function of the promise-holding modules, and of cache_key.py the
# functions whose results enter the digest.
DIGEST_PARTS := static_repr static_value_digest _full_repr _unreadable _bounded static_key \
	traced_leaves is_on_device _committed_sharding format_path _dynamic_args _positional_names \
	function_identity build_cache_key static_values _split_statics
MUTATE_SCOPE := $(foreach m,tracing.key_compare outputs tracing.verify explain.rewrite_checks \
	decisions.bytecode diffing.make_traced caching.persistent,'jaxexplain.$(m).*') \
	$(foreach f,$(DIGEST_PARTS),'jaxexplain.tracing.cache_key.x_$(f)__mutmut_*')

mutate: $(STAMP) ## Mutation testing (mutmut) of the modules that hold a promise; hours on 2 shared cores (tests/MUTANTS.md).
	$(BIN)/python -m pip install --quiet -e '.[dev,libs,mutation]'
	rm -rf mutants && mkdir mutants
	@start=$$(date +%s); nice -n 19 $(BIN)/mutmut run --max-children 2 $(MUTATE_SCOPE) >mutants/run.log; \
	echo "mutation testing took $$(( $$(date +%s) - start )) s (mutmut's output: mutants/run.log)"
	$(BIN)/python scripts/mutation_scores.py

lint: $(STAMP) ## ruff (lint + format check) and mypy.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy jaxexplain

bench: $(STAMP) ## Time jaxexplain (and its memory over 1,000 traces) against the bare JAX calls that give the same facts.
	$(BIN)/python benchmarks/bench_trace.py
	$(BIN)/python benchmarks/bench_diff.py
	$(BIN)/python benchmarks/bench_watch.py
	$(BIN)/python benchmarks/bench_html.py
	$(BIN)/python benchmarks/bench_render.py
	$(BIN)/python benchmarks/bench_memory.py

clean: ## Remove the virtual environments and caches.
	rm -rf $(VENV) .venv-* .pytest_cache .ruff_cache .mypy_cache mutants .coverage .coverage.json
