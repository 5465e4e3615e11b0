# One job per HDF5 shard: clips go to shards by a hash of their id (tagbench.features.shards.shard_of).


rule extract:
    input:
        split=lambda w: f"results/{w.experiment}/split/{split_part(w.part)[0]}.tsv",
        provenance="results/{experiment}/split/split.json",
        annotations=f"{DATA_DIR}/annotations_final.csv",
        audio=audio_input,
    output:
        "results/{experiment}/features/{front_end}/{part}/{shard}.h5",
    params:
        n_shards=lambda w: S.shards[split_part(w.part)[0]],
        audio_root=f"{DATA_DIR}/audio",
        # a deformed test part (config robustness): its name is in the path, so a changed
        # severity is other files and jobs, and the clean part's stay as they are
        deformation=lambda w: (
            f"--deformation '{split_part(w.part)[1]}'" if split_part(w.part)[1] else ""
        ),
        spec=lambda w: to_json(S.features_for(w.front_end)),
        code=lambda w: code_fingerprint(
            "features", front_end=w.front_end, deformed=bool(split_part(w.part)[1])
        ),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    log:
        "results/{experiment}/logs/extract/{front_end}/{part}-{shard}.log",
    benchmark:
        "results/{experiment}/benchmarks/extract/{front_end}/{part}-{shard}.tsv"
    conda:
        ENV
    shell:
        "tagbench extract {input.split:q} --audio-root {params.audio_root:q} "
        "--shard {wildcards.shard} --n-shards {params.n_shards} --out {output:q} "
        "{params.deformation} --spec {params.spec:q} > {log} 2>&1"


# A frozen backbone's outputs, once per feature shard, shared by every frozen variant (and
# replicate) with that backbone: its cache name (`backbones.cache_name`: a built-in's name for
# its trained weights, or its random weights' with the backbone seed), or a user's backbone (by
# its name; the job is given its reference, and for a waveform backbone the audio it decodes).
rule cache_backbone:
    input:
        shard=cache_features,
        weights=cache_weights,
        audio=cache_audio,
    output:
        "results/{experiment}/backbone/{backbone}/{part}/{shard}.h5",
    params:
        spec=lambda w: to_json(S.cache.for_part(w.part)),
        ref=cache_backbone_ref,
        weights=lambda w, input: (
            f"--weights {input.weights}"
            if input.weights and w.backbone not in USER_BACKBONES
            else ""
        ),
        audio_root=lambda w: (
            f"--audio-root '{DATA_DIR}/audio'"
            if cache_front_end(w).startswith("waveform")
            else ""
        ),
        code=cache_code,
    # one thread: the outputs are the same bit for bit with two (checked), and two jobs side by
    # side on two cores finish sooner than one job on both (TensorFlow's start-up is serial)
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
    log:
        "results/{experiment}/logs/cache_backbone/{backbone}/{part}-{shard}.log",
    benchmark:
        "results/{experiment}/benchmarks/cache_backbone/{backbone}/{part}-{shard}.tsv"
    conda:
        ENV
    shell:
        "tagbench cache-backbone {input.shard:q} "
        "--backbone {params.ref:q} {params.weights} {params.audio_root} --out {output:q} "
        "--threads {threads} --spec {params.spec:q} > {log} 2>&1"
