"""Bring your own backbone: a user's class (module path or entry point) or an ONNX file runs
through the DAG as a built-in does, reruns exactly when its code or weights change, and every
fault in it is one line naming the plugin, the clip and the fix."""

import json
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from .conftest import ROOT, SNAKEMAKE, planned, run_cli

EXAMPLE = ROOT / "examples" / "backbones" / "tagbench-basic-pitch"
ONNX = ROOT / "resources" / "basic_pitch" / "nmp.onnx"

# A user's backbone at 8 kHz (not the built-ins' 16): per 0.5 s window, the log energy in 4
# frequency bands (one output) and the window's mean and spread (another).
TOY = '''
import numpy as np


class BandEnergy:
    """Four band energies per half second."""

    name = "band_energy"
    sample_rate = 8000
    input = "waveform"
    patch_seconds = 0.5
    outputs = {"bands": (4,), "moments": (2,)}
    trained_on = "none"
    MODE = "ok"

    def __init__(self, weights):
        self.weights = weights

    def __call__(self, patches):
        spectrum = np.abs(np.fft.rfft(patches, axis=1)) ** 2
        bands = np.stack([b.sum(axis=1) for b in np.array_split(spectrum, 4, axis=1)], axis=1)
        out = {"bands": np.log(bands + 1e-6),
               "moments": np.stack([patches.mean(axis=1), patches.std(axis=1)], axis=1)}
        if self.MODE == "nan":
            out["bands"][0, 0] = np.nan
        if self.MODE == "shape":
            out["bands"] = out["bands"][:, :3]
        if self.MODE == "raise":
            raise RuntimeError("out of memory in the plugin")
        if self.MODE == "random":
            out["moments"] = out["moments"] + np.random.default_rng().random(out["moments"].shape)
        return out
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy plugin as a module on the path; yields its module path `toy_backbone:BandEnergy`."""
    (tmp_path / "toy_backbone.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    from tagbench import backbones

    backbones._plugin.cache_clear()
    backbones._RESOLVED.clear()
    yield "toy_backbone:BandEnergy"
    sys.modules.pop("toy_backbone", None)
    backbones._plugin.cache_clear()
    backbones._RESOLVED.clear()


def test_a_users_class_is_a_backbone_with_its_declared_contract(toy):
    from tagbench.backbones import backbone, cache_name, front_end

    spec = backbone(toy)
    assert (spec.name, spec.sample_rate, spec.input, spec.front_end) == (
        "band_energy", 8000, "waveform", "waveform8000")
    assert (spec.patch_samples, spec.hop_samples, spec.frozen_only) == (4000, 4000, True)
    assert spec.outputs == {"bands": (4,), "moments": (2,)}
    assert spec.poolings == {"bands": "bands", "moments": "moments"}
    assert cache_name(toy, "none", 0) == "band_energy"
    assert backbone("band_energy") is spec  # by name, once resolved (what a job's cache reads)
    assert front_end(spec.front_end).sample_rate == 8000


@pytest.mark.parametrize("edit, message", [
    ("    trained_on = \"none\"\n", "attribute trained_on"),  # removed: required
    ("    outputs = {\"bands\": (4,), \"moments\": (2,)}\n",
     "attribute outputs must be dict"),
    ("    name = \"band_energy\"\n", "attribute name must be str"),
])
def test_a_broken_contract_is_one_config_line_naming_the_attribute(toy, tmp_path, edit, message):
    from tagbench.core.errors import ConfigError
    from tagbench.settings.config import load_settings

    (tmp_path / "toy_backbone.py").write_text(TOY.replace(edit, ""))
    with pytest.raises(ConfigError, match=f"config key 'variants.v.backbone': backbone "
                                          f"'{toy}': {message}"):
        load_settings({"variants": {"v": {"backbone": toy, "pooling": "bands",
                                          "finetune": False}}})


@pytest.mark.parametrize("over, message", [
    ({"backbone": "nope.module:Missing"}, "config key 'variants.v.backbone': backbone "
     "'nope.module:Missing': cannot import nope.module"),
    ({"finetune": True}, "config key 'variants.v.finetune': backbone toy_backbone:BandEnergy is "
     "frozen-only"),
    ({"pooling": "avg"}, "config key 'variants.v.pooling': 'avg' is not a pooling of backbone "
     "toy_backbone:BandEnergy (one of bands, moments)"),
])
def test_config_faults_with_a_users_backbone_are_one_line(toy, over, message):
    from tagbench.core.errors import ConfigError
    from tagbench.settings.config import load_settings

    variant = {"backbone": toy, "pooling": "bands", "finetune": False, **over}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({"variants": {"v": variant}})


def test_more_contract_faults_are_one_line(toy, tmp_path):
    """A hop longer than the patch (evaluation would miss patches), weights without a sha256,
    two backbones under one name, and a backbone trained on MTT folders tested on them."""
    from tagbench import backbones
    from tagbench.core.errors import ConfigError
    from tagbench.settings.config import load_settings

    def error(source, variant=None, **config):
        (tmp_path / "toy_backbone.py").write_text(source)
        sys.modules.pop("toy_backbone", None)
        backbones._plugin.cache_clear()
        backbones._RESOLVED.clear()
        variant = variant or {"backbone": toy, "pooling": "bands", "finetune": False}
        with pytest.raises(ConfigError) as info:
            load_settings({**config, "variants": {"v": variant}})
        return str(info.value)

    assert "hop_seconds in (0, patch_seconds]" in error(
        TOY.replace("patch_seconds = 0.5", "patch_seconds = 0.5\n    hop_seconds = 1.0"))
    assert "attribute weights must map files to their sha256" in error(
        TOY.replace('trained_on = "none"', 'trained_on = "none"\n    weights = {"w.bin": "abc"}'))
    (tmp_path / "toy_backbone.py").write_text(TOY + "\n\nclass Twin(BandEnergy):\n    pass\n")
    sys.modules.pop("toy_backbone", None)
    backbones._plugin.cache_clear()
    backbones._RESOLVED.clear()
    frozen = {"pooling": "bands", "finetune": False}
    with pytest.raises(ConfigError, match="config key 'variants.w.backbone': backbones "
                       "'toy_backbone:BandEnergy' and 'toy_backbone:Twin' are both named "
                       "'band_energy': give one another name"):
        load_settings({"variants": {"v": {"backbone": toy, **frozen},
                                    "w": {"backbone": "toy_backbone:Twin", **frozen}}})
    mtt = TOY.replace('trained_on = "none"', 'trained_on = {"dataset": "mtt", "name": "MTT", '
                      '"folders": "0123456789abc"}')
    assert error(mtt, dataset="mtt", split={"method": "folder"}).startswith(
        "config key 'variants.v.backbone': toy_backbone:BandEnergy was trained on MTT folders 0, "
        "1, 2, 3, 4, 5, 6, 7, 8, 9, a, b, c and selected on them, and split.method folder tests "
        "on folders c-f, c among them")


def test_weights_that_differ_from_their_sha256_are_refused_naming_the_file(toy, tmp_path):
    from tagbench.backbones import backbone
    from tagbench.core.errors import DataError
    from tagbench.models.backbone_cache import open_plugin

    weights = tmp_path / "w.bin"
    weights.write_bytes(b"trained")
    declared = "0" * 64
    (tmp_path / "toy_backbone.py").write_text(TOY.replace(
        'trained_on = "none"', f'trained_on = "none"\n    weights = {{{str(weights)!r}: '
                               f'{declared!r}}}'))
    with pytest.raises(DataError, match=f"backbone {toy}: {weights} has sha256 "
                                        "[0-9a-f]{16}..., the plugin declares 0{16}...: replace "
                                        "the file or update the declared sha256"):
        open_plugin(backbone(toy))
    weights.unlink()
    with pytest.raises(DataError, match=f"weights file {weights} not found"):
        open_plugin(backbone(toy))


def test_a_plugin_returning_other_than_its_declared_outputs_is_one_line(toy):
    from tagbench.backbones import backbone
    from tagbench.core.errors import DataError
    from tagbench.models.backbone_cache import run_plugin

    spec = backbone(toy)
    patches = np.zeros((3, 4000), np.float32)
    with pytest.raises(DataError, match=r"clip x: backbone toy_backbone:BandEnergy returned "
                                        r"ndarray, not its declared outputs \['bands', 'moments'\]"):
        run_plugin(lambda x: x, spec, patches, "clip x")
    with pytest.raises(DataError, match="output moments is not an array of numbers"):
        run_plugin(lambda x: {"bands": np.zeros((3, 4)), "moments": [[1, 2], [3]]}, spec,
                   patches, "clip x")


@pytest.fixture
def waveform_shard(tiny_demo, tmp_path):
    """The tiny demo's test part as an 8 kHz waveform shard (lengths only, no samples)."""
    from .conftest import split_and_extract

    root, _ = tiny_demo
    return root, split_and_extract(root, tmp_path / "feat", {"train": 1, "valid": 1, "test": 1},
                                   front_end="waveform8000")["test"][0]


def test_a_waveform_shard_keeps_no_samples_and_the_cache_decodes_them(toy, waveform_shard,
                                                                      tmp_path):
    from tagbench.backbones import backbone
    from tagbench.features.audio import load_audio
    from tagbench.models.backbone_cache import CacheStore, write_cache

    root, shard = waveform_shard
    with h5py.File(shard) as h5:
        assert h5["logmel"].shape == (0, 1)  # no decoded audio on disk
        lengths = np.diff(h5["clip_offsets"][()])
        paths = list(h5["path"].asstr()[()])
    assert lengths[0] == len(load_audio(root / "audio" / paths[0], "soxr_hq", 8000))
    out = tmp_path / "cache.h5"
    counts = write_cache(shard, out, toy, 1, "float32", audio_root=root / "audio")
    assert counts["patches"] == sum(max(n, 4000) // 4000 for n in lengths)
    spec = backbone(toy)
    samples = load_audio(root / "audio" / paths[0], "soxr_hq", 8000)
    expected = spec.plugin({})(samples[None, :4000])
    with CacheStore([shard], [out], "band_energy", "bands") as store:
        np.testing.assert_array_equal(store.eval_patches(0)[0], expected["bands"][0])
        assert store.patch_shape == (4,)


@pytest.mark.parametrize("mode, message", [
    ("raise", "backbone toy_backbone:BandEnergy failed (RuntimeError: out of memory in the "
     "plugin); fix the plugin"),
    ("nan", "backbone toy_backbone:BandEnergy gives non-finite outputs for clip"),
    ("shape", "backbone toy_backbone:BandEnergy output bands has shape"),
])
def test_a_plugin_failing_in_the_cache_job_is_one_line_naming_it_and_the_clip(
        toy, tmp_path, waveform_shard, mode, message):

    root, shard = waveform_shard
    (tmp_path / "toy_backbone.py").write_text(TOY.replace('MODE = "ok"', f'MODE = "{mode}"'))
    with h5py.File(shard) as h5:
        first = h5["clip_id"].asstr()[0]
    proc = run_cli("cache-backbone", shard, "--backbone", toy, "--audio-root", root / "audio",
                   "--out", tmp_path / "c.h5", check=False)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert message in line and "Traceback" not in proc.stderr
    assert f"clip {first}" in line and "fix the plugin" in line
    assert not (tmp_path / "c.h5").exists()


def test_check_backbone_passes_a_good_plugin_and_names_each_fault(toy, tmp_path):
    proc = run_cli("check-backbone", toy)
    assert "FAIL" not in proc.stdout
    assert "ok   white noise: 20 patches of 0.500 s from 10.00 s (expected 20)" in proc.stdout
    assert "audio seconds per CPU second" in proc.stdout
    (tmp_path / "toy_backbone.py").write_text(TOY.replace('MODE = "ok"', 'MODE = "random"'))
    proc = run_cli("check-backbone", toy, check=False)
    assert proc.returncode == 1
    assert "FAIL white noise: deterministic (twice the same input, the same output) (not: " \
           "moments)" in proc.stdout
    (tmp_path / "toy_backbone.py").write_text(TOY.replace('MODE = "ok"', 'MODE = "shape"'))
    proc = run_cli("check-backbone", toy, check=False)
    assert proc.returncode == 1 and "output bands has shape (20, 3), declared (20, 4)" in proc.stdout


def onnx_or_fail():
    if not ONNX.is_file():
        pytest.fail(f"{ONNX} missing: `make setup` fetches it (PYTHONPATH={EXAMPLE} "
                    ".venv/bin/python -m tagbench_basic_pitch fetch resources/basic_pitch)")
    return ONNX


def test_an_onnx_file_with_a_sidecar_is_the_example_plugins_network(tmp_path, monkeypatch):
    """The same Basic Pitch graph by the two routes, ONNX file + sidecar and the example
    plugin's class: the same outputs, and check-backbone passes both."""
    onnx = tmp_path / "models" / "bp.onnx"
    onnx.parent.mkdir()
    shutil.copy(onnx_or_fail(), onnx)
    (onnx.with_suffix(".yaml")).write_text(yaml.safe_dump({
        "name": "bp_onnx", "sample_rate": 22050, "input": "waveform",
        "patch_seconds": 43844 / 22050, "trained_on": "unknown",
        "outputs": {"note": {"onnx": "StatefulPartitionedCall:1", "size": 88, "reduce": "mean"}}}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from tagbench import backbones
    from tagbench.core.digests import sha256_of
    from tagbench.models.runner import BackboneRunner

    by_file = BackboneRunner("models/bp.onnx")
    assert by_file.spec.weight_files == {"models/bp.onnx": sha256_of(onnx)}
    assert backbones.provenance("models/bp.onnx", "none", "demo").startswith(
        "trained on data its plugin does not name")
    monkeypatch.chdir(ROOT)  # the example declares its weights relative to the project
    by_class = BackboneRunner("tagbench_basic_pitch:BasicPitch")
    rng = np.random.default_rng(0)
    patches = by_class.patches_of((0.1 * rng.standard_normal(5 * 22050)).astype(np.float32))
    assert patches.shape == (2, 43844)
    a = by_file.outputs(patches, "noise")["note"]
    b = by_class.outputs(patches, "noise")["note"]
    np.testing.assert_array_equal(a, b)
    monkeypatch.chdir(tmp_path)
    proc = run_cli("check-backbone", "models/bp.onnx", cwd=tmp_path)
    assert "FAIL" not in proc.stdout and "ok   load: bp_onnx, 22050 Hz" in proc.stdout


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    """The example plugin installed as a user would (pip, its entry point), into a folder put
    on PYTHONPATH: a copy, so that a test may edit the installed code."""
    onnx_or_fail()
    tmp = tmp_path_factory.mktemp("plugin")
    source = tmp / "source"
    shutil.copytree(EXAMPLE, source)
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target), str(source)],
                   check=True, capture_output=True)
    return target


@pytest.fixture(scope="module")
def plugin_run(installed_example, tmp_path_factory):
    """The tiny DAG with a random-VGGish variant and one on the example plugin, by its entry
    point name, run to the end."""
    workdir = tmp_path_factory.mktemp("plugin-wf")
    (workdir / "resources" / "basic_pitch").mkdir(parents=True)
    shutil.copy(ONNX, workdir / "resources" / "basic_pitch" / "nmp.onnx")
    config = yaml.safe_load((ROOT / ".test" / "tiny.yaml").read_text())
    config["train"]["seeds"] = [0]
    config["variants"] = {"small_avg": {"pooling": "avg"},
                          "pitch": {"backbone": "basic_pitch", "pooling": "note"}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**__import__("os").environ, "PYTHONPATH": str(installed_example)}

    def snakemake(*args):
        return subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory",
                               str(workdir), "--cores", "2", *args], capture_output=True,
                              text=True, env=env)

    proc = snakemake()
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir, snakemake, env


def test_an_installed_plugin_runs_through_the_dag_by_its_entry_point(plugin_run):
    workdir, _, env = plugin_run
    results = workdir / "results" / "demo"
    table = pd.read_csv(results / "report" / "comparison.csv")
    assert table["variant"].tolist()[:2] == ["small_avg", "pitch"]
    assert table["roc_auc_macro"].between(0, 1).all()
    caches = sorted(p.name for p in (results / "backbone").iterdir())
    assert caches == ["basic_pitch", "random0"]
    with h5py.File(results / "backbone/basic_pitch/test/000.h5") as h5:
        assert h5["note"].shape[1:] == (88,) and h5.attrs["backbone"] == "basic_pitch"
        assert json.loads(h5.attrs["weights"])["plugin"] == "basic_pitch"
    metrics = json.loads((results / "eval/pitch/seed0/metrics.json").read_text())
    assert metrics["scored_from"] == "backbone cache"
    assert metrics["model"]["provenance"].startswith("transfer from")
    # the model file is the head alone; predict runs the plugin, then the head
    proc = subprocess.run([sys.executable, "-m", "tagbench.cli", "predict", "--model",
                           str(results / "models/pitch/seed0/model.keras"),
                           str(workdir / "resources/demo/audio/0"), "--json"],
                          capture_output=True, text=True, env=env, cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    tagged = json.loads(proc.stdout)
    assert tagged and all(len(t["tags"]) == 5 for t in tagged)
    listed = subprocess.run([sys.executable, "-m", "tagbench.cli", "backbones"], cwd=workdir,
                            capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("basic_pitch"))
    assert "tagbench-basic-pitch==0.1.0" in row and "22050" in row and row.endswith("yes")


def test_editing_a_plugins_code_reruns_only_its_jobs(plugin_run, installed_example):
    workdir, snakemake, _ = plugin_run
    code = installed_example / "tagbench_basic_pitch" / "__init__.py"
    original = code.read_text()
    try:
        code.write_text(original.replace('"""(n, 43844) float32', '"""(n, 43844) float32, '
                                         'reworded'))
        proc = snakemake("-n")
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert planned(proc) == {}, "a docstring is not code"
        code.write_text(original.replace(".mean(axis=1)", ".max(axis=1)"))
        proc = snakemake("-n")
        jobs = planned(proc)
        n_shards = sum(yaml.safe_load((ROOT / ".test/tiny.yaml").read_text())["features"]
                       ["shards"].values())
        assert jobs["cache_backbone"] == n_shards, proc.stdout[-3000:]
        assert jobs["train"] == jobs["evaluate"] == 1  # the plugin's variant, not small_avg
        assert "extract" not in jobs
        caches = set(re.findall(r"output: results/demo/backbone/([^/]+)/", proc.stdout))
        assert caches == {"basic_pitch"}
    finally:
        code.write_text(original)


def test_the_docs_example_is_a_complete_backbone_that_passes_the_check(tmp_path):
    """docs/backbones.md's example, as a user would copy it: at most 40 lines, and it loads,
    runs and passes check-backbone."""
    page = (ROOT / "docs" / "backbones.md").read_text()
    example = re.search(r"```python\n(.*?)```", page, re.S)[1]
    assert len(example.strip().splitlines()) <= 40
    (tmp_path / "my_backbone.py").write_text(example)
    proc = subprocess.run([sys.executable, "-m", "tagbench.cli", "check-backbone",
                           "my_backbone:Chroma"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout
