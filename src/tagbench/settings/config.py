"""The validated configuration, as frozen dataclasses: the one place parameters are read from.

`load_settings(mapping)` validates a raw config (config.yaml, possibly with Snakemake
`--config` overrides) against workflow/schemas/config.schema.yaml, fills defaults and returns
`Settings`. Each stage gets its own small dataclass, serialisable to JSON, so that a rule can
hand exactly its stage's parameters to `tagbench <verb> --spec JSON` and Snakemake's params
trigger reruns only for the stage (or variant) whose values changed.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from ..core.download import DownloadSettings
from ..core.errors import ConfigError
from ..core.layout import MTT_SHA256

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")


@dataclass(frozen=True)
class DemoSettings:
    """The synthetic demo dataset (config `demo`): tracks, clips per track, clip length, seed."""

    n_tracks: int = 96
    clips_per_track: int = 3
    clip_seconds: float = 4.0
    seed: int = 0


@dataclass(frozen=True)
class SplitSettings:
    """The train/valid/test split (config `split`) and the tag set (config `tags`)."""

    method: str = "folder"
    test_fraction: float = 0.25
    valid_fraction: float = 0.1
    seed: int = 0
    top_n: int | None = None
    lists: dict[str, str | None] = field(default_factory=dict)  # method lists: part -> file
    tag_list: str | None = None  # config tags.list: a shipped list's name or a file of tags
    drop_twins: bool = False
    folds: int = 5  # method kfold: folds per repeat, and repeats with other fold assignments
    repeats: int = 1
    fold: int = 0  # method kfold: which fold the split job writes (a job's, not a config key)
    repeat: int = 0

    def for_method(self) -> SplitSettings:
        """Only the settings the method reads (the others at their defaults), so that changing
        e.g. split.seed leaves a standard or lists split, and all after it, as it is."""
        keep = {"folder": {"valid_fraction", "seed"},
                "group": {"valid_fraction", "test_fraction", "seed"},
                "kfold": {"valid_fraction", "seed", "folds", "repeats", "fold", "repeat"},
                "standard": set(), "lists": {"lists"}}[self.method]
        default = SplitSettings()
        return replace(self, **{k: getattr(default, k) for k in
                                ("valid_fraction", "test_fraction", "seed", "lists", "folds",
                                 "repeats", "fold", "repeat") if k not in keep})

    @property
    def fold_names(self) -> list[str]:
        """Method kfold: each (repeat, fold) as its sub-experiment's name, `r0f3`; else none."""
        if self.method != "kfold":
            return []
        return [fold_name(r, k) for r in range(self.repeats) for k in range(self.folds)]

    def for_fold(self, name: str) -> SplitSettings:
        """The split job's settings of one fold (`r0f3`): not `repeats`, so that adding a repeat
        leaves the folds of the others, and all after them, as they are."""
        repeat, fold = parse_fold(name)
        return replace(self.for_method(), repeats=SplitSettings.repeats, repeat=repeat, fold=fold)


def fold_name(repeat: int, fold: int) -> str:
    """A kfold sub-experiment's name: `r{repeat}f{fold}`."""
    return f"r{repeat}f{fold}"


def parse_fold(name: str) -> tuple[int, int]:
    """(repeat, fold) of a kfold sub-experiment's name (`fold_name`)."""
    repeat, fold = name.removeprefix("r").split("f")
    return int(repeat), int(fold)


@dataclass(frozen=True)
class FeatureSettings:
    """Log-mel extraction (config `features`): storage dtype, resampler, and the front end."""

    dtype: str = "float16"
    resample: str = "soxr_hq"
    front_end: str = "vggish"  # the extraction job's (a backbone's front end), not a config key


class _Downloads:
    """The download knobs (config `download`) of MTT's settings."""

    retries: int
    timeout: float

    @property
    def download_settings(self) -> DownloadSettings:
        return DownloadSettings(retries=self.retries, timeout=self.timeout)


@dataclass(frozen=True)
class MttSettings(_Downloads):
    """Where MTT comes from (mirrors tried in order) and checksum overrides by file name."""

    mirrors: tuple[str, ...] = ()
    sha256: dict[str, str] = field(default_factory=dict)
    retries: int = 5
    timeout: float = 60.0

    def expected_sha256(self, name: str) -> str:
        return self.sha256.get(name, MTT_SHA256[name])


SHIPPED = "shipped"  # train.head: the backbone's own output layer


@dataclass(frozen=True)
class TrainSettings:
    """One variant's model and training (config `train`, overridden per entry of `variants`)."""

    epochs: int = 12
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 0.001
    n_active: int = 20
    patches_per_clip: float = 1
    backbone: str = "vggish"
    weights: str = "none"
    finetune: bool = True
    finetune_batchnorm: bool = False
    pooling: str = "avg"
    head: tuple[int, ...] = (256,)
    dropout: float = 0.3
    output: str = "sigmoid"
    early_stopping_patience: int | None = None
    seeds: tuple[int, ...] = (0,)
    backbone_seed: int = 0
    gpu: int = 0
    gpu_model: str | None = None
    threads: int = 1
    mixed_precision: bool = False
    aggregate: str = "mean"

    def __post_init__(self):
        if self.head != SHIPPED:
            object.__setattr__(self, "head", tuple(int(h) for h in self.head))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    @property
    def seed(self) -> int:
        """The seed of one training job (settings made by `for_seed`)."""
        if len(self.seeds) != 1:
            raise ConfigError(f"train settings with {len(self.seeds)} seeds: a training job "
                              "takes one (--seed with --config, or one seed in --spec)")
        return self.seeds[0]

    @property
    def shipped_head(self) -> bool:
        """The backbone's own output layer as the head: scored as shipped, never trained."""
        return self.head == SHIPPED

    def for_seed(self, seed: int) -> TrainSettings:
        """One replicate's settings: what its training job gets (so adding a seed to the list
        leaves the other replicates' jobs as they are)."""
        return replace(self, seeds=(seed,))

    def for_job(self, seed: int) -> TrainSettings:
        """One replicate's settings as its training job's params: its resources (threads, GPUs)
        at their defaults, since they shape nothing it computes (the weights are the same bit
        for bit with 1 or 2 threads), so changing them reruns nothing; the job gets them as
        arguments."""
        default = TrainSettings()
        return replace(self.for_seed(seed), threads=default.threads, gpu=default.gpu,
                       gpu_model=default.gpu_model)

    @property
    def model_key(self) -> dict[str, Any]:
        """The settings that shape the trained model (everything but resources)."""
        skip = {"gpu", "gpu_model", "threads"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


@dataclass(frozen=True)
class CacheSettings:
    """The frozen backbone's output cache (config `cache`): patch positions and storage dtype.

    `positions_per_patch` is how many patch start positions per patch length the train part
    caches (1: non-overlapping patches; 2: every half patch, ...); `dtype` is the features'.
    """

    positions_per_patch: int = 1
    dtype: str = "float16"

    def for_part(self, part: str) -> CacheSettings:
        """`positions_per_patch` applies to the train part; valid and test are cached at the
        positions evaluation scores (non-overlapping patches), so a new training setting leaves
        their caches as they are."""
        return self if part.startswith("train") else CacheSettings(1, self.dtype)


@dataclass(frozen=True)
class EvalSettings:
    """Test-part scoring (config `evaluate`): patches per model call."""

    batch_size: int = 256


@dataclass(frozen=True)
class BootstrapSettings:
    """Intervals and flags (config `evaluate`): test resamples, interval method, correction.

    The resamples (per track or per clip) are behind every interval and difference;
    `evaluation.stats` implements them.

    Raises
    ------
    ConfigError
        If `interval`, `correction` or `resample_by` is not one of the schema's values.
    """

    resamples: int = 1000
    seed: int = 0
    interval: str = "seeds_and_clips"
    correction: str = "holm"
    resample_by: str = "track"

    def __post_init__(self):
        # the schema's enums, for --spec by hand: one line, not a failure deep in the stats
        for key, allowed in (("interval", ("seeds_and_clips", "clips")),
                             ("correction", ("holm", "none")),
                             ("resample_by", ("track", "clip"))):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"config key 'evaluate.{key}': {getattr(self, key)!r} is not "
                                  f"one of {list(allowed)}")

    def for_summary(self) -> BootstrapSettings:
        """What a summary reads: the correction only flags pairs in the report, so changing it
        leaves the summaries (and the baseline) as they are."""
        return replace(self, correction=BootstrapSettings.correction)


@dataclass(frozen=True)
class PredictSettings:
    """Tagging the user's own audio (config `predict`): the folder, the variant, tags per file."""

    audio_dir: str | None = None
    variant: str | None = None
    top_k: int = 10


@dataclass(frozen=True)
class Settings:
    """The whole validated configuration: one settings object per stage (`load_settings`)."""

    dataset: str
    experiment: str
    demo: DemoSettings
    split: SplitSettings
    features: FeatureSettings
    shards: dict[str, int]
    variants: dict[str, TrainSettings]
    evaluate: EvalSettings
    bootstrap: BootstrapSettings = BootstrapSettings()
    cache: CacheSettings = CacheSettings()
    mtt: MttSettings = MttSettings()
    predict: PredictSettings = PredictSettings()
    custom_annotations: str | None = None
    custom_audio_dir: str | None = None
    # the built-ins' weights: each family's config section (`backbones.weight_steps`), and the
    # download knobs (config `download`)
    weights: dict = field(default_factory=dict)
    download: DownloadSettings = DownloadSettings()
    # deformations of the test audio (config `robustness`), by name (`core.deformations`)
    robustness: tuple[str, ...] = ()

    def features_for(self, front_end: str) -> FeatureSettings:
        """The extraction settings of one front end's shards."""
        return replace(self.features, front_end=front_end)


def _inherited_weights(train: dict, over: dict) -> dict:
    """A variant that inherits `train.weights` its backbone does not offer (another backbone's
    checkpoint) gets its backbone's first choice; one that sets them itself is checked by
    check_variant_backbone."""
    from ..backbones import BACKBONES, backbone
    from ..core.errors import DataError

    known = {w for b in BACKBONES.values() for w in b.weight_choices}
    if train["weights"] not in known:  # a typo must not train on random weights
        raise ConfigError(f"config key 'train.weights': {train['weights']!r} is no backbone's "
                          f"weights (choices: {', '.join(sorted(known))}; `tagbench backbones`)")
    if "weights" in over:
        return {}
    try:
        choices = backbone(over.get("backbone", train["backbone"])).weight_choices
    except DataError:  # an unknown backbone: check_variant_backbone names it
        return {}
    return {} if train["weights"] in choices else {"weights": choices[0]}


def check_variant_backbone(spec: TrainSettings, where: str, over=()) -> None:
    """A variant's backbone must resolve, and its pooling and weights be the backbone's: one
    config-error line naming the key (`train.` where the variant inherits it, not in `over`),
    before any job runs."""

    def key(name: str) -> str:
        return f"{where}.{name}" if name in over else f"train.{name}"

    from ..backbones import BACKBONES, backbone
    from ..core.errors import DataError

    try:
        known = backbone(spec.backbone)  # a built-in, an entry point or a module path
    except DataError as err:
        raise ConfigError(f"config key '{key('backbone')}': {err}") from None
    if known.frozen_only:
        from ..backbones import weight_paths

        missing = [path for path in weight_paths(known).values() if not Path(path).is_file()]
        if missing:
            raise ConfigError(f"config key '{key('backbone')}': backbone {spec.backbone}: weights "
                              f"file {missing[0]} not found (place it there, or fix the "
                              "plugin's weights)")
    if known.frozen_only and spec.finetune:
        raise ConfigError(f"config key '{key('finetune')}': backbone {spec.backbone} is "
                          "frozen-only (a user's backbone, no Keras graph to train): set "
                          "finetune: false")
    if spec.pooling not in known.poolings:
        raise ConfigError(f"config key '{where}.pooling': {spec.pooling!r} is not a pooling of "
                          f"backbone {spec.backbone} (one of {', '.join(known.poolings)})")
    if spec.shipped_head:
        taggers = [name for name, b in BACKBONES.items() if b.tags]
        if not known.tags:
            raise ConfigError(f"config key '{where}.head': 'shipped' is the backbone's own output "
                              f"layer, and backbone {spec.backbone} has none (taggers: "
                              f"{', '.join(taggers)})")
        if spec.pooling != "taggram" or spec.finetune:
            raise ConfigError(f"config key '{where}.head': a shipped head scores the backbone's "
                              "taggram as trained: set pooling: taggram and finetune: false")
    if spec.weights not in known.weight_choices:
        offered = ", ".join(f"{w}: " + (f"loads {known.weights_file(w)}" if known.weights_file(w)
                                         else "random weights") for w in known.weight_choices)
        raise ConfigError(f"config key '{key('weights')}': {spec.weights!r} is not a weights "
                          f"choice of backbone {spec.backbone} (one of {offered})")


def check_leakage(spec: TrainSettings, dataset: str, method: str, where: str) -> None:
    """A backbone trained on MTT folders 0-b (and selected on c) is never tested there: the
    folder split tests on c-f, a group split on any folder. (A lists split is checked on its
    test clips by evaluation.)"""
    from ..backbones import backbone, leaked_test_folders

    test = {"folder": "cdef", "group": "0123456789abcdef", "kfold": "0123456789abcdef"}.get(
        method, "")
    leaked = leaked_test_folders(spec.backbone, dataset, test)
    if leaked:
        trained = backbone(spec.backbone).trained_on
        raise ConfigError(
            f"config key '{where}.backbone': {spec.backbone} was trained on {trained['name']} "
            f"{trained.get('train', 'folders ' + ', '.join(trained['folders']))} and selected on "
            f"{trained.get('valid', 'them').split(' (')[0]}, and "
            f"split.method {method} tests on folders {test[0]}-{test[-1]}, {', '.join(leaked)} "
            "among them: it would be scored on "
            "clips it learned from. Use split.method: standard (test folders d-f), where it is "
            "labelled in-domain supervised, not transfer")


def check_shipped_tags(spec: TrainSettings, tag_list: str | None, where: str) -> None:
    """A shipped head scores the tags its backbone was trained on: the tag set must be named
    (tags.list) and each of its tags an output of the backbone, checked before any job runs."""
    from ..backbones import backbone
    from ..core.errors import DataError
    from ..core.tag_lists import read_tag_list

    if not tag_list:
        raise ConfigError(f"config key '{where}.head': a shipped head needs the tag set named "
                          "(tags.list, e.g. mtt_top50), so that every tag is one of the backbone's "
                          "outputs")
    try:
        tags = read_tag_list(tag_list)
    except DataError as err:
        raise ConfigError(f"config key 'tags.list': {err}") from None
    missing = [t for t in tags if t not in backbone(spec.backbone).tags]
    if missing:
        raise ConfigError(f"config key 'tags.list': {len(missing)} tag(s) are no output of "
                          f"{spec.backbone} ({where}.head: shipped): {', '.join(missing[:8])}"
                          f"{' ...' if len(missing) > 8 else ''}; list only tags it was trained on")


def to_json(spec) -> str:
    """A stage dataclass as compact, key-sorted JSON (stable: used as a Snakemake param)."""
    return json.dumps(asdict(spec), sort_keys=True, separators=(",", ":"))


def from_json(cls, text: str):
    """Inverse of `to_json`; unknown or missing fields are a ConfigError, not a TypeError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--spec is not valid JSON ({err.msg} at char {err.pos})") from None
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"--spec has unknown keys for {cls.__name__}: {', '.join(unknown)}")
    return cls(**data)


def _schema() -> dict:
    with open(SCHEMA_PATH) as fh:
        return yaml.safe_load(fh)


def _validator():
    from jsonschema import Draft202012Validator, validators

    base = Draft202012Validator

    def fill_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    cls = validators.extend(base, {"properties": fill_defaults})
    return cls(_schema())


def _describe(error) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        keys = ", ".join(f"{where}.{k}" if where != "(top level)" else k for k in extra)
        return f"config key '{keys}' is not known{hint}"
    if error.validator == "propertyNames":
        return f"config key '{where}': variant name {error.instance!r} must match [A-Za-z0-9_.-]+"
    return f"config key '{where}': {error.message}"


def validate(raw: dict) -> dict:
    """Validate and fill defaults; returns a new dict. Raises ConfigError naming the key."""
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping of keys to values")
    config = copy.deepcopy(raw)
    errors = sorted(_validator().iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        from jsonschema.exceptions import best_match

        raise ConfigError(_describe(best_match(errors)))
    return config


def load_settings(raw: dict) -> Settings:
    """Validate a raw config and build the settings of every stage.

    Fills the schema's defaults and resolves each variant's train keys (`train` overridden by
    the variant's own). Checks that need several keys (a variant's pooling and weights against
    its backbone, test folders a backbone was trained on, shipped-head tags, required keys)
    fail here, before any job runs.

    Parameters
    ----------
    raw : dict
        The config mapping (config.yaml, possibly with Snakemake `--config` overrides).

    Returns
    -------
    Settings
        Only the variants named in `select_variants` (all when it is null).

    Raises
    ------
    ConfigError
        With one line naming the offending config key.
    """
    from ..backbones import backbone, weight_sections
    from ..core.deformations import check_bitrates, configured

    config = validate(raw)
    train = config["train"]
    selected = config["select_variants"]
    unknown = [v for v in selected or () if v not in config["variants"]]
    if unknown:
        raise ConfigError(f"config key 'select_variants': {unknown[0]!r} is not a variant "
                          f"(variants: {', '.join(config['variants'])})")
    variants = {name: TrainSettings(**{**train, **over, **_inherited_weights(train, over)})
                for name, over in config["variants"].items() if selected is None or name in selected}
    for name, spec in variants.items():
        check_variant_backbone(spec, f"variants.{name}", config["variants"][name])
        if spec.shipped_head and len(spec.seeds) > 1:  # nothing is trained: one deterministic run
            variants[name] = replace(spec, seeds=spec.seeds[:1])
    if config["dataset"] == "custom":
        for key in ("annotations", "audio_dir"):
            if not config["custom"].get(key):
                raise ConfigError(f"config key 'custom.{key}' is required when dataset is custom")
    predict = PredictSettings(**config["predict"])
    if predict.variant is not None and predict.variant not in variants:
        raise ConfigError(f"config key 'predict.variant': {predict.variant!r} is not a variant "
                          f"(variants: {', '.join(variants)})")
    if predict.variant is None:
        predict = PredictSettings(predict.audio_dir, next(iter(variants)), predict.top_k)
    if config["tags"]["top_n"] is not None and config["tags"]["list"] is not None:
        raise ConfigError("config keys 'tags.top_n' and 'tags.list' both set: a tag set is the "
                          "N most frequent or a named list, not both")
    split = SplitSettings(**config["split"], top_n=config["tags"]["top_n"],
                          tag_list=config["tags"]["list"])
    for name, spec in variants.items():
        if spec.shipped_head:
            check_shipped_tags(spec, split.tag_list, f"variants.{name}")
        check_leakage(spec, config["dataset"], split.method, f"variants.{name}")
    robustness = configured(config["robustness"])
    if robustness and split.method == "kfold":
        raise ConfigError("config key 'robustness': not scored under split.method kfold (each "
                          "fold would need its own deformed test part); score robustness on one "
                          "split (split.method group) or set robustness: {}")
    check_bitrates(robustness, {v.backbone: backbone(v.backbone).sample_rate
                                for v in variants.values()})
    if split.method == "lists":
        missing = [p for p in ("train", "valid", "test") if not split.lists.get(p)]
        if missing:
            raise ConfigError(f"config key 'split.lists.{missing[0]}' is required when "
                              "split.method is lists")
    return Settings(
        dataset=config["dataset"],
        experiment=config["experiment"] or config["dataset"],
        predict=predict,
        demo=DemoSettings(**config["demo"]),
        split=split,
        features=FeatureSettings(dtype=config["features"]["dtype"],
                                 resample=config["features"]["resample"]),
        shards=dict(config["features"]["shards"]),
        variants=variants,
        evaluate=EvalSettings(batch_size=config["evaluate"]["batch_size"]),
        bootstrap=BootstrapSettings(resamples=config["evaluate"]["bootstrap"],
                                    seed=config["evaluate"]["bootstrap_seed"],
                                    interval=config["evaluate"]["interval"],
                                    correction=config["evaluate"]["correction"],
                                    resample_by=config["evaluate"]["resample_by"]),
        cache=CacheSettings(positions_per_patch=config["cache"]["positions_per_patch"],
                            dtype=config["features"]["dtype"]),
        mtt=MttSettings(mirrors=tuple(config["mtt"]["mirrors"]), sha256=dict(config["mtt"]["sha256"]),
                        **config["download"]),
        weights={section: dict(config[section]) for section in weight_sections()},
        download=DownloadSettings(**config["download"]),
        robustness=robustness,
        custom_annotations=config["custom"]["annotations"],
        custom_audio_dir=config["custom"]["audio_dir"],
    )


def read_config_file(path: str | Path) -> dict:
    """Parse a YAML config file; a missing or malformed file is a one-line ConfigError."""
    path = Path(path)
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML") from None
    return data or {}
