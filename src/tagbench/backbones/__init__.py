"""The backbones a variant can train on, behind one registry and one contract.

A backbone is a network with its own input: `vggish` (the official checkpoint, or seeded random
weights) and the four pretrained musicnn models (`MSD_musicnn`, `MSD_vgg`, trained on the
Million Song Dataset; `MTT_musicnn`, `MTT_vgg`, trained on MagnaTagATune folders 0-b) ship with
tagbench; any other is a user's class named by module path or entry point (`plugins`). Each is a
`Backbone`: its sample rate, its input (a log-mel front end, or waveform windows), the per-patch
outputs the frozen cache stores, which output each pooling reads, its own output tags (a
tagger's), what it was trained on, and its weight files. `backbone(ref)` resolves any of them.

Light on purpose (no numpy or TensorFlow at import): the Snakefile reads the registry while it
parses. `front_end_params`, `log_mel` and `patches` import their front end's module when called.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass, field

from ..core.errors import DataError
from . import plugins


@dataclass(frozen=True)
class FrontEnd:
    """What a feature shard is keyed by (`features/{front_end}/...`): a log-mel front end, or
    `waveform{rate}` (a waveform backbone's: the shard records each clip's length, no samples,
    and the cache job decodes the audio itself, so no dataset's audio is kept decoded on disk)."""

    name: str
    sample_rate: int
    frame_hop: int        # samples between frames (1 for waveform: a frame is a sample)
    n_mels: int
    patch_frames: int     # one network input (0 for waveform: the backbone's own)
    # the family's modules (front end, networks, weights): a job of another front end's
    # backbones does not run them, so they are no part of its code fingerprint
    modules: tuple[str, ...] = ()
    kind: str = "logmel"  # or "waveform"
    # a log-mel front end's module: `PARAMS` (what a shard records) and `clip_log_mel(waveform)`
    code: str = ""

    @property
    def patch_seconds(self) -> float:
        return self.patch_frames * self.frame_hop / self.sample_rate


@dataclass(frozen=True)
class Backbone:
    name: str
    front_end: str
    outputs: dict[str, tuple[int, ...]] = field(hash=False)  # name -> per-patch shape (cached)
    poolings: dict[str, str] = field(hash=False)          # pooling -> the output it reads
    tags: tuple[str, ...] | None = None                   # a tagger's own outputs, in order
    trained_on: dict | None = field(default=None, hash=False)  # None: no training data (random)
    weights: str = "none"                                 # where trained weights come from
    sample_rate: int = 16000
    patch_samples: int = 0     # waveform input: one patch, and the step between patches
    hop_samples: int = 0
    # a user's backbone (`plugins`): its class, the config's name for it, its weight files
    # (declared name -> sha256), code files and distribution; None for the built-ins
    plugin: object = field(default=None, hash=False, compare=False)
    ref: str = ""
    weight_files: dict = field(default_factory=dict, hash=False)
    code: tuple = ()
    distribution: str | None = None
    # a built-in's family: the module that builds its Keras graph and loads its weights
    # (`backbone_model(spec, names)`, `load_backbone(model, spec, weights, path)`)
    family: str = ""
    # what `train.weights` may say (the first when a variant inherits another backbone's), the
    # checkpoint each loads (none: random weights, cached as `random_cache`), and what a
    # checkpoint other than the backbone's own was trained on
    weight_choices: tuple[str, ...] = ("none",)
    checkpoints: dict = field(default_factory=dict, hash=False)
    pretrained: dict = field(default_factory=dict, hash=False)
    random_cache: str = ""  # e.g. "random{seed}": the cache folder of seeded random weights
    # the module that puts its checkpoints where the workflow loads them from (`WeightStep`)
    weights_module: str = ""

    def weights_file(self, weights: str) -> str:
        """The checkpoint `weights` loads, where the workflow puts it ("" for random weights)."""
        return self.checkpoints.get(weights, "")

    def trained(self, weights: str) -> dict | None:
        """What the backbone with `weights` was trained on (None: random weights)."""
        if not self.plugin and not self.weights_file(weights):
            return None
        return self.pretrained.get(weights, self.trained_on)

    def cache_name(self, weights: str, backbone_seed: int) -> str:
        """The folder of its cached outputs: its name with trained weights, else `random_cache`
        for the seed (not the replicate seed, so every variant and replicate with that backbone
        shares one cache)."""
        if self.plugin or self.weights_file(weights):
            return self.name
        return self.random_cache.format(seed=backbone_seed)

    @property
    def frozen_only(self) -> bool:
        """No Keras graph: its outputs are cached, a head trains on them, nothing fine-tunes."""
        return self.plugin is not None

    @property
    def input(self) -> str:
        return "waveform" if self.front_end.startswith("waveform") else self.front_end

    def output_of(self, pooling: str) -> str:
        if pooling not in self.poolings:
            raise DataError(f"backbone {self.name} has no pooling {pooling!r} (its poolings: "
                            f"{', '.join(self.poolings)})")
        return self.poolings[pooling]


@dataclass(frozen=True)
class WeightStep:
    """One workflow job that puts built-ins' trained weights in place (`tagbench weights NAME`):
    its family's weights module declares it (`steps(section)`) and runs it (`run_step(step,
    section, download)`), reading the config section named after that module's `SECTION`."""

    name: str                      # the rule's name
    module: str                    # below the package, e.g. "backbones.vggish_weights"
    section: str                   # the config section it reads (its params: a change reruns it)
    outputs: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    arg: str = ""                  # what the module needs beyond the section (a model's name)
    front_end: str = ""            # whose family's code it runs (its code fingerprint)
    # a download keeps its file when the code changes (snakemake would delete it to rerun)
    rerun_on_code: bool = True
    downloads: bool = False  # it reads the download knobs (config `download`)


DEFAULT = "vggish"  # the config's default backbone, and that of files written before backbones
FRONT_ENDS = {
    "vggish": FrontEnd("vggish", 16000, 160, 64, 96,
                       ("backbones.vggish", "backbones.vggish_frontend",
                        "backbones.vggish_weights"),
                       code="backbones.vggish_frontend"),
    "musicnn": FrontEnd("musicnn", 16000, 256, 96, 187,
                        ("backbones.musicnn", "backbones.musicnn_frontend",
                         "backbones.musicnn_weights"),
                        code="backbones.musicnn_frontend"),
}

MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
    "weird", "country", "metal", "female voice", "choral")
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
    "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
    "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy",
    "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop",
    "sad", "House", "happy")
# What each was trained on: `folders` (MTT's hex folders its training and model selection saw)
# is what the leakage guard checks a split's test part against.
MTT_TRAINED_ON = {"dataset": "mtt", "name": "MagnaTagATune", "train": "folders 0-b",
                  "valid": "folder c (checkpoint selection, learning-rate schedule)",
                  "test": "folders d-f", "folders": "0123456789abc", "tags": "MTT top-50"}
MSD_TRAINED_ON = {"dataset": "msd", "name": "Million Song Dataset (7digital previews)",
                  "train": "201,680 clips", "valid": "11,774 clips", "test": "28,435 clips",
                  "tags": "Last.fm top-50"}
MUSICNN_OUTPUTS = {"max_pool": (753,), "mean_pool": (753,), "penultimate": (200,), "taggram": (50,)}
VGG_OUTPUTS = {"pool5": (256,), "taggram": (50,)}


def _identity(outputs) -> dict[str, str]:
    return {name: name for name in outputs}


BACKBONES = {
    # pooling avg / autopool read the pool4 map averaged over frequency (avg then averages its
    # 6 time steps: the global average), max the global max, embedding the fc layers' 128-d
    "vggish": Backbone("vggish", "vggish",
                       {"pool4_freq_mean": (6, 512), "pool4_max": (512,), "embedding": (128,)},
                       {"avg": "pool4_freq_mean", "autopool": "pool4_freq_mean",
                        "max": "pool4_max", "embedding": "embedding"},
                       weights="the official VGGish checkpoint (train.weights: vggish)",
                       family="backbones.vggish", weight_choices=("none", "vggish"),
                       checkpoints={"vggish": "resources/vggish/vggish_model.ckpt"},
                       pretrained={"vggish": {"dataset": "youtube-8m", "name": "YouTube-8M",
                                              "source": "YouTube-8M (the VGGish checkpoint)"}},
                       random_cache="random{seed}", weights_module="backbones.vggish_weights"),
    **{name: Backbone(name, "musicnn", outputs, _identity(outputs), tags, trained_on,
                      "the musicnn==0.1.0 wheel", family="backbones.musicnn",
                      weights_module="backbones.musicnn_weights",
                      checkpoints={"none": f"resources/musicnn/{name}/variables.index"})
       for name, outputs, tags, trained_on in (
           ("MSD_musicnn", MUSICNN_OUTPUTS, MSD_TAGS, MSD_TRAINED_ON),
           ("MTT_musicnn", MUSICNN_OUTPUTS, MTT_TAGS, MTT_TRAINED_ON),
           ("MSD_vgg", VGG_OUTPUTS, MSD_TAGS, MSD_TRAINED_ON),
           ("MTT_vgg", VGG_OUTPUTS, MTT_TAGS, MTT_TRAINED_ON))},
}
DEFAULT_FRONT_END = BACKBONES[DEFAULT].front_end
MUSICNN_MODELS = tuple(name for name, b in BACKBONES.items() if b.front_end == "musicnn")
# Folder names of the built-ins' frozen caches: a backbone's name (its trained weights), or its
# random weights' (`random_cache`, a seed in place of {seed}).
def _random_cache(spec: Backbone, seed: str = r"(\d+)") -> str:
    """The regular expression of a backbone's random-weights cache folders (`random_cache`)."""
    return re.escape(spec.random_cache).replace(re.escape("{seed}"), seed)


CACHE_PATTERN = "|".join([*map(re.escape, BACKBONES), *(
    _random_cache(b, r"\d+") for b in BACKBONES.values() if b.random_cache)])


def _weights_modules() -> dict:
    """Config section -> the module of the built-ins' weights that reads it."""
    found = {}
    for module in dict.fromkeys(b.weights_module for b in BACKBONES.values() if b.weights_module):
        loaded = _submodule(module)
        found[loaded.SECTION] = loaded
    return found


def weight_sections() -> tuple[str, ...]:
    """The config sections the built-ins' weights read (`vggish.url`, ...)."""
    return tuple(_weights_modules())


def weight_steps(sections: dict[str, dict]) -> dict[str, WeightStep]:
    """The workflow's jobs that put the built-ins' weights in place, by rule name, from the
    config sections given (a family whose section is absent has none here)."""
    return {step.name: step for section, module in _weights_modules().items()
            if section in sections for step in module.steps(sections[section])}


def run_weight_step(name: str, section: str, settings: dict, download: dict) -> str:
    """Run one `WeightStep` (what `tagbench weights` does); returns its log line."""
    steps = weight_steps({section: settings})
    if name not in steps:
        raise DataError(f"no weights step {name!r} reads config section {section!r} (its steps: "
                        f"{', '.join(steps) or 'none'})")
    if steps[name].downloads and not download:
        raise DataError(f"weights step {name} downloads: give the download knobs (config "
                        "`download`) in its spec")
    return _weights_modules()[section].run_step(steps[name], settings, download)


def family_module(spec: Backbone):
    """The module of a built-in's family (its Keras graph and weights); a user's backbone has
    none: it is frozen-only."""
    if not spec.family:
        raise DataError(f"backbone {spec.ref or spec.name} has no Keras graph (a user's backbone "
                        "is frozen-only: finetune: false)")
    return _submodule(spec.family)


def _submodule(name: str):
    """A module the registry names below the package (`backbones.vggish`): imported by name,
    so that the registry stays light (`settings.fingerprint._dispatched` follows these)."""
    return importlib.import_module(f"{__name__.rsplit('.', 1)[0]}.{name}")


def backbone(ref: str) -> Backbone:
    """The backbone a config names: a built-in's name, an installed entry point's name, a
    module path (`package.module:Class`), or the `name` of a user's backbone resolved before."""
    if ref in BACKBONES:
        return BACKBONES[ref]
    if ref in _RESOLVED:
        return _RESOLVED[ref]
    spec = _plugin(ref)
    other = _RESOLVED.setdefault(spec.name, spec)
    if other.ref != spec.ref:  # two backbones in one cache folder would be scored as one
        raise DataError(f"backbones {other.ref!r} and {ref!r} are both named {spec.name!r}: "
                        "give one another name (its cache folder), or name it one way")
    return spec


_RESOLVED: dict[str, Backbone] = {}  # a user's backbone by its name, once resolved by reference


@functools.cache
def _plugin(ref: str) -> Backbone:
    if ref.endswith(".onnx"):
        from .onnx_file import onnx_class

        return from_class(onnx_class(ref), ref)
    if plugins.is_reference(ref):
        return from_class(plugins.load_class(ref), ref)
    found = plugins.entry_points()
    if ref in found:
        return from_class(plugins.load_class(found[ref]), ref)
    raise DataError(f"unknown backbone {ref!r} (built in: {', '.join(BACKBONES)}; installed: "
                    f"{', '.join(found) or 'none'}; a module path 'package.module:Class', or an ONNX file)")


def from_class(cls, ref: str) -> Backbone:
    """A user's backbone class as a `Backbone`, its declared contract checked (one line per
    fault, naming the attribute)."""
    where = f"backbone {ref!r}"

    def need(attr, kind, default=None):
        value = getattr(cls, attr, default)
        if value is None or not isinstance(value, kind) or isinstance(value, bool):
            raise DataError(f"{where}: attribute {attr} must be "
                            f"{getattr(kind, '__name__', kind)}, not {value!r} (docs/backbones.md)")
        return value

    name = need("name", str)
    if not plugins.NAME.fullmatch(name) or name in BACKBONES or re.fullmatch(r"random\d+", name):
        raise DataError(f"{where}: name {name!r} must be letters, digits, _ and - and not a "
                        f"built-in's ({', '.join(BACKBONES)}, random<seed>)")
    rate = need("sample_rate", int)
    if rate < 1:
        raise DataError(f"{where}: attribute sample_rate must be > 0 Hz, not {rate}")
    kind = need("input", str)
    outputs = need("outputs", dict)
    if not outputs or not all(isinstance(k, str) and isinstance(v, tuple | list) and len(v) == 1
                              and isinstance(v[0], int) and v[0] > 0
                              for k, v in outputs.items()):
        raise DataError(f"{where}: outputs must map names to per-patch vector shapes, e.g. "
                        f"{{'embedding': (512,)}} (reduce time inside), not {outputs!r}")
    outputs = {k: tuple(v) for k, v in outputs.items()}
    poolings = dict(getattr(cls, "poolings", None) or {k: k for k in outputs})
    bad = {p: o for p, o in poolings.items() if o not in outputs}
    if bad:
        raise DataError(f"{where}: poolings {bad} read outputs it does not declare")
    tags = getattr(cls, "tags", None)
    if tags is not None and ("taggram" not in outputs or outputs["taggram"] != (len(tags),)):
        raise DataError(f"{where}: tags need a taggram output of shape ({len(tags)},)")
    trained_on = getattr(cls, "trained_on", None)
    if isinstance(trained_on, str) and trained_on in plugins.TRAINED_ON_WORDS:
        trained_on = {"dataset": trained_on, "name": trained_on}
    elif not (isinstance(trained_on, dict) and {"dataset", "name"} <= set(trained_on)):
        raise DataError(f"{where}: attribute trained_on must say what it was trained on: a dict with "
                        "'dataset' and 'name' (and 'folders' for MTT), 'unknown', or 'none'")
    weights = getattr(cls, "weights", None) or {}
    if not isinstance(weights, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v)
            for k, v in weights.items()):
        raise DataError(f"{where}: attribute weights must map files to their sha256 (64 hex "
                        "digits)")
    weights = dict(weights)
    if kind == "waveform":
        patch = round(need("patch_seconds", float | int) * rate)
        hop_seconds = getattr(cls, "hop_seconds", None)
        hop = patch if hop_seconds is None else (
            round(hop_seconds * rate) if isinstance(hop_seconds, float | int) else 0)
        if patch < 1 or not 1 <= hop <= patch:
            raise DataError(f"{where}: patch_seconds must be > 0 and hop_seconds in (0, "
                            "patch_seconds]: evaluation scores the patches every hop")
        front = f"waveform{rate}"
    elif kind in FRONT_ENDS:
        if FRONT_ENDS[kind].sample_rate != rate:
            raise DataError(f"{where}: front end {kind} is at {FRONT_ENDS[kind].sample_rate} Hz, "
                            f"not its sample_rate {rate}")
        patch = hop = 0
        front = kind
    else:
        raise DataError(f"{where}: input {kind!r} is 'waveform' or a front end "
                        f"({', '.join(FRONT_ENDS)})")
    return Backbone(name, front, outputs, poolings, tuple(tags) if tags else None,
                    dict(trained_on), weights=f"the plugin {ref}", sample_rate=rate,
                    patch_samples=patch, hop_samples=hop, plugin=cls, ref=ref,
                    weight_files=weights, code=plugins.code_files(cls),
                    distribution=plugins.distribution(cls))


def weight_paths(spec: Backbone) -> dict[str, str]:
    """A user's backbone's weight files: declared name -> path."""
    return plugins.weight_paths(spec.plugin, spec.weight_files) if spec.plugin else {}


def cache_name(backbone_name: str, weights: str, backbone_seed: int) -> str:
    """The folder a frozen backbone's cached outputs live in (`Backbone.cache_name`)."""
    return backbone(backbone_name).cache_name(weights, backbone_seed)


def parse_cache_name(name: str) -> tuple[str, str, int]:
    """Inverse of `cache_name`: (backbone, weights, backbone_seed); a user's backbone is given
    by its reference (what the cache rule passes), which names its cache."""
    for spec in BACKBONES.values():
        for weights in spec.weight_choices:
            if spec.weights_file(weights) and name == spec.name:
                return spec.name, weights, 0
        match = re.fullmatch(_random_cache(spec), name) if spec.random_cache else None
        if match:
            return spec.name, next(w for w in spec.weight_choices if not spec.weights_file(w)), \
                int(match[1])
    try:
        return backbone(name).ref or name, "pretrained", 0
    except DataError as err:
        random = [b.random_cache.format(seed="<seed>") for b in BACKBONES.values() if b.random_cache]
        raise DataError(f"unknown backbone cache {name!r} (one of {', '.join(BACKBONES)}, "
                        f"{', '.join(random)}, or a user's backbone: {err})") from None


def front_end(name: str) -> FrontEnd:
    if name in FRONT_ENDS:
        return FRONT_ENDS[name]
    match = re.fullmatch(r"waveform(\d+)", name)
    if match:
        return FrontEnd(name, int(match[1]), 1, 1, 0, kind="waveform")
    raise DataError(f"unknown front end {name!r} (known: {', '.join(FRONT_ENDS)}, "
                    "waveform<rate>)")


def front_end_params(name: str) -> dict:
    """The settings a feature shard records for its front end (what a model is checked against)."""
    fe = front_end(name)
    if fe.kind == "waveform":
        return {"front_end": name, "sample_rate": fe.sample_rate, "input": "waveform"}
    return {**_front_end_module(fe).PARAMS, "front_end": fe.name}


def _front_end_module(fe: FrontEnd):
    return _submodule(fe.code)


def log_mel(name: str, waveform):
    """Mono samples at the front end's rate -> (frames, n_mels) float32 log-mel, padded so that
    a clip shorter than one patch gives one (silence at the end of the waveform, for every
    log-mel front end); a waveform front end gives the samples as (samples, 1)."""
    fe = front_end(name)
    if fe.kind == "waveform":
        return waveform.reshape(-1, 1)
    return _front_end_module(fe).clip_log_mel(waveform)


def patches(logmel, patch_frames: int, step: int | None = None):
    """(frames, n_mels) -> (n, patch_frames, n_mels) windows every `step` frames (default: one
    patch, non-overlapping, what evaluation scores); the incomplete tail is dropped. The one
    patching of every front end."""
    import numpy as np

    step = patch_frames if step is None else step
    if step < 1:
        raise ValueError(f"a patch step must be >= 1 frame, not {step}")
    if len(logmel) < patch_frames:
        return np.zeros((0, patch_frames, logmel.shape[1]), logmel.dtype)
    view = np.lib.stride_tricks.sliding_window_view(logmel, patch_frames, axis=0)[::step]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


def provenance(backbone_name: str, weights: str, dataset: str) -> str:
    """What a variant's figure measures, by what its backbone learned from: transfer, in-domain
    supervised tagging (a backbone trained on the dataset itself), or random features."""
    trained = backbone(backbone_name).trained(weights)
    if trained is None:
        return "random weights, no pretraining"
    if trained.get("dataset") == "none":
        return "no trained weights: a fixed feature extractor"
    if trained.get("dataset") == "unknown":
        return "trained on data its plugin does not name: unknown, leakage unchecked"
    if trained.get("dataset") == dataset:
        return "in-domain supervised, not transfer"
    return f"transfer from {trained.get('source', trained['dataset'].upper())}"


def leaked_test_folders(backbone_name: str, dataset: str, test_folders) -> list[str]:
    """The test part's MTT folders that a backbone was trained or selected on (none for other
    backbones and datasets): testing there measures memory, not tagging."""
    trained = backbone(backbone_name).trained_on or {}
    if trained.get("dataset") != dataset or "folders" not in trained:
        return []
    return sorted(set(test_folders) & set(trained["folders"]))
