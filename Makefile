# Two entry points (see README): `make demo` and `make test`. Everything installs into .venv
# from the pins in pyproject.toml + requirements.lock.
PYTHON ?= python3
VENV   ?= .venv
EXTRAS ?= test
comma  := ,
CORES  ?= 2
BIN    := $(VENV)/bin
# The SLURM executor plugin for the test suite, kept outside the environment's site-packages:
# snakemake imports every installed executor plugin on start, and this one runs `scontrol` while
# it is imported (10 s per call where a SLURM client is installed but no controller answers).
# tests/test_slurm.py puts it on PYTHONPATH for its own snakemake calls only. Cluster users
# install it into the environment instead: make setup EXTRAS=test,slurm
SLURM_PLUGIN := $(VENV)/slurm-plugin
# The example backbone plugin (docs/backbones.md): its pinned ONNX model is fetched at setup so
# that its tests download nothing.
BASIC_PITCH := examples/backbones/tagbench-basic-pitch

.PHONY: setup slurm-plugin demo drums test lint lock report docs clean
setup: $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

$(VENV)/.installed-%: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else "tagbench needs Python 3.11 or 3.12 (found %s): set PYTHON=python3.11" % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[$(EXTRAS)]"
	$(BIN)/python -m tagbench.backbones.musicnn_weights fetch resources/musicnn
	PYTHONPATH=$(BASIC_PITCH) $(BIN)/python -m tagbench_basic_pitch fetch resources/basic_pitch
	$(BIN)/tagbench compile-front-ends  # librosa's numba cache, once, not in the first job
	touch $@

# the plugin and the jobstep plugin it needs (its other dependencies are snakemake's own)
slurm-plugin: $(SLURM_PLUGIN)/.installed
$(SLURM_PLUGIN)/.installed: pyproject.toml requirements.lock | setup
	$(BIN)/python -m pip install --quiet --no-deps -c requirements.lock --target $(SLURM_PLUGIN) \
		snakemake-executor-plugin-slurm snakemake-executor-plugin-slurm-jobstep
	touch $@

demo: setup
	$(BIN)/snakemake --cores $(CORES)

# the real-recordings experiment (docs/results.md, "Real recordings"): the pinned drum kits, fetched and
# imported into resources/drumkits/, then configs/drums.yaml
drums: setup
	bash scripts/get_drumkits.sh resources/drumkits $(BIN)/tagbench
	$(BIN)/snakemake --cores $(CORES) --configfile configs/drums.yaml

report: demo
	$(BIN)/snakemake --cores $(CORES) --report results/report.html --report-stylesheet workflow/report/report.css

# what docs/ shows, from the demo just run: config reference, stamped result tables, screenshots
docs: demo
	PYTHON=$(BIN)/python SNAKEMAKE=$(BIN)/snakemake bash scripts/docs.sh

# one test file per worker (--dist loadfile): a file's module fixtures are built once
test: setup slurm-plugin
	$(BIN)/python -m pytest -n $(CORES) --dist loadfile

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	bash -n scripts/*.sh
	$(BIN)/snakemake --lint

# pins everything the test and slurm extras install (this leaves the plugin in .venv)
lock:
	$(MAKE) setup EXTRAS=test,slurm
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -i '^tagbench' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf results .snakemake
