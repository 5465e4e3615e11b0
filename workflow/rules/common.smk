# Input functions shared by the rules.


def shard_files(experiment, part, front_end=BASELINE_FRONT_END):
    """Every shard of a split part (or a deformed test part) of an experiment (or a fold's
    sub-experiment) in one front end, as configured in features.shards."""
    return [
        f"results/{experiment}/features/{front_end}/{part}/{shard_name(i)}.h5"
        for i in range(S.shards[split_part(part)[0]])
    ]


def baseline_shards(part):
    """Input function: the shards of `part` in the baseline's front end (the default backbone's
    log-mel)."""
    return lambda wildcards: shard_files(wildcards.experiment, part)


def variant_front_end(wildcards):
    """The front end of a variant's backbone (its family, for the code fingerprint)."""
    return backbone(S.variants[wildcards.variant].backbone).front_end


def cache_backbone_ref(wildcards):
    """What the cache job is told to run: the cache name, or a user's backbone's reference."""
    user = USER_BACKBONES.get(wildcards.backbone)
    return user.ref if user else wildcards.backbone


def cache_front_end(wildcards):
    """The front end of a cache's backbone."""
    if wildcards.backbone in USER_BACKBONES:
        return USER_BACKBONES[wildcards.backbone].front_end
    return backbone(parse_cache_name(wildcards.backbone)[0]).front_end


def cache_code(wildcards):
    """The cache job's rerun param: the code it runs, and a user's backbone's code and weights."""
    code = code_fingerprint("cache", front_end=cache_front_end(wildcards),
                            deformed=bool(split_part(wildcards.part)[1]))
    user = USER_BACKBONES.get(wildcards.backbone)
    return f"{code}+{plugin_fingerprint(user)}" if user else code


def cache_audio(wildcards):
    """A waveform backbone's cache job decodes the audio itself: the dataset's audio."""
    return audio_input(wildcards) if cache_front_end(wildcards).startswith("waveform") else []


def variant_shards(part):
    """Input function: a variant's feature shards of `part` (None: the test part deformed by
    the `deformation` wildcard), in its backbone's front end. A shipped head is not trained:
    its training job reads the valid part for both."""

    def files(wildcards):
        spec = S.variants[wildcards.variant]
        read = deformed_test(wildcards) if part is None else part
        read = "valid" if read == "train" and spec.shipped_head else read
        return shard_files(wildcards.experiment, read, backbone(spec.backbone).front_end)

    return files


def deformed_test(wildcards):
    """The test part deformed as the `deformation` wildcard says (`test~noise_snr_db=20`)."""
    return f"test{SEPARATOR}{wildcards.deformation}"


def backbone_weights(name, weights):
    """The checkpoint a backbone loads with `weights` (none for random weights, and for a
    user's backbone, whose weight files only its cache job reads)."""
    spec = backbone(name)
    return [] if spec.frozen_only else spec.weights_file(weights) or []


def weight_spec(step):
    """A weights job's settings: its config section and, if it downloads, the download knobs
    (JSON)."""
    import json
    from dataclasses import asdict

    # the download knobs only where the step downloads (a params change reruns a step)
    return json.dumps({"section": step.section, "settings": S.weights[step.section],
                       "download": asdict(S.download) if step.downloads else {}},
                      sort_keys=True, separators=(",", ":"))


def weights_input(wildcards):
    """The weights a variant's backbone starts from."""
    spec = S.variants[wildcards.variant]
    return backbone_weights(spec.backbone, spec.weights)


def custom_audio_paths(annotations):
    """The mp3_path column of a custom annotations file, read lightly (csv only); a file that
    cannot be read gives none here: the import_custom rule reports what is wrong with it."""
    import csv

    try:
        with open(annotations, newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh, delimiter="\t", quotechar='"')
            column = [c.strip() for c in next(rows)].index("mp3_path")
            return [row[column].strip() for row in rows if len(row) > column]
    except (OSError, UnicodeDecodeError, csv.Error, StopIteration, ValueError):
        return []


def audio_input(wildcards):
    """The dataset's audio: the folder a rule makes (demo, mtt), or for custom every audio file
    its annotations name that exists, so a replaced or re-encoded file makes the features stale
    (a missing one is recorded as failed by extraction, and its arrival reruns it)."""
    if DATASET != "custom":
        return f"{DATA_DIR}/audio"
    audio_dir = Path(S.custom_audio_dir)
    return [str(audio_dir / rel) for rel in custom_audio_paths(S.custom_annotations)
            if (audio_dir / rel).is_file()]


def predict_audio(wildcards):
    """Every audio file under predict.audio_dir, so adding a file makes the table stale."""
    from tagbench.models.predict import collect_audio

    return [str(p) for p in collect_audio([S.predict.audio_dir])] if S.predict.audio_dir else []


def backbone_cache(part):
    """Input function: a frozen variant's backbone cache shards of `part` (None: the deformed
    test part, as `variant_shards`; none when the variant fine-tunes its backbone and so trains
    and is scored through it)."""

    def files(wildcards):
        spec = S.variants[wildcards.variant]
        if spec.finetune:
            return []
        backbone = cache_name(spec.backbone, spec.weights, spec.backbone_seed)
        read = deformed_test(wildcards) if part is None else part
        read = "valid" if read == "train" and spec.shipped_head else read
        return [
            f"results/{wildcards.experiment}/backbone/{backbone}/{read}/{shard_name(i)}.h5"
            for i in range(S.shards[split_part(read)[0]])
        ]

    return files


def cache_weights(wildcards):
    """The trained weights of a cache's backbone (none for random weights)."""
    if wildcards.backbone in USER_BACKBONES:
        return sorted(weight_paths(USER_BACKBONES[wildcards.backbone]).values())
    name, weights, _ = parse_cache_name(wildcards.backbone)
    return backbone_weights(name, weights)


def cache_features(wildcards):
    """The feature shard a cache shard mirrors, in its backbone's front end."""
    front_end = cache_front_end(wildcards)
    return f"results/{wildcards.experiment}/features/{front_end}/{wildcards.part}/{wildcards.shard}.h5"


def seed_runs(wildcards):
    """A variant's per-seed metrics files, in the order of its seeds."""
    return [
        f"results/{wildcards.experiment}/eval/{wildcards.variant}/seed{seed}/metrics.json"
        for seed in S.variants[wildcards.variant].seeds
    ]


def first_seed_model(wildcards):
    """The model that tags new audio: the variant's first seed."""
    seed = S.variants[wildcards.variant].seeds[0]
    return f"results/{wildcards.experiment}/models/{wildcards.variant}/seed{seed}/model.keras"

def every_comparison(wildcards):
    """Every experiment's comparison table on disk, this one's included (built if missing), and
    their robustness tables: the same input set whichever experiment runs, so a finished
    experiment's rerun stays a no-op after another one updated the leaderboard."""
    this = [f"results/{EXPERIMENT}/report/comparison.csv"]
    if S.robustness:
        this.append(f"results/{EXPERIMENT}/report/robustness.csv")
    # (this experiment's robustness table only when configured: report_robustness exists then)
    others = [p for p in Path("results").glob("*/report/robustness.csv")
              if p.parts[1] != EXPERIMENT]
    return sorted({*this, *map(str, Path("results").glob("*/report/comparison.csv")),
                   *map(str, others)})


def file_digest(path):
    """sha256 of a data file the package reads (a params value: content, not path or mtime)."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
