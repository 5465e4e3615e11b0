# Two entry points (see README): `make demo` and `make test`. Everything installs into .venv
# from the pins in pyproject.toml + requirements.lock.
PYTHON ?= python3
VENV   ?= .venv
EXTRAS ?= test,slurm
comma  := ,
CORES  ?= 2
BIN    := $(VENV)/bin

.PHONY: setup demo test lint lock report clean
setup: $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

$(VENV)/.installed-%: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else "tagbench needs Python 3.11 or 3.12 (found %s): set PYTHON=python3.11" % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[$(EXTRAS)]"
	touch $@

demo: setup
	$(BIN)/snakemake --cores $(CORES)

report: demo
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks
	bash -n scripts/*.sh
	$(BIN)/snakemake --lint

lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -i '^tagbench' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf results .snakemake
