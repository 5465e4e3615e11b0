# One training job per variant and seed (variants are config entries, not copied rules).


rule train:
    input:
        train=variant_shards("train"),
        valid=variant_shards("valid"),
        weights=weights_input,
        train_cache=backbone_cache("train"),
        valid_cache=backbone_cache("valid"),
    output:
        model="results/{experiment}/models/{variant}/seed{seed}/model.keras",
        history="results/{experiment}/models/{variant}/seed{seed}/history.csv",
    params:
        spec=lambda w: to_json(S.variants[w.variant].for_job(int(w.seed))),
        code=lambda w: code_fingerprint("train", front_end=variant_front_end(w)),
        # Outside the outputs: Snakemake does not delete it when the job fails, so a rerun resumes.
        state="results/{experiment}/train_state/{variant}/seed{seed}",
        weights=lambda w, input: f"--weights {input.weights}" if input.weights else "",
        cache=lambda w, input: (
            f"--train-cache {input.train_cache} --valid-cache {input.valid_cache}"
            if input.train_cache
            else ""
        ),
    threads: lambda w: S.variants[w.variant].threads
    resources:
        gpu=lambda w: S.variants[w.variant].gpu,
        # cluster executors: SLURM gets --gpus=MODEL:N (empty = any model)
        gpu_model=lambda w: S.variants[w.variant].gpu_model or "",
        mem_mb=8000,
        runtime=24 * 60,
    log:
        "results/{experiment}/logs/train/{variant}/seed{seed}.log",
    benchmark:
        "results/{experiment}/benchmarks/train/{variant}/seed{seed}.tsv"
    conda:
        ENV
    shell:
        "tagbench train --variant {wildcards.variant} --train-shards {input.train} "
        "--valid-shards {input.valid} --out-dir results/{wildcards.experiment}/models/{wildcards.variant}/seed{wildcards.seed} "
        "--state-dir {params.state} {params.weights} {params.cache} --threads {threads} "
        "--spec {params.spec:q} > {log} 2>&1"
