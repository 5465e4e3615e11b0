# Clip-level test metrics per variant and seed, the summary over seeds, and the baseline floor.


rule evaluate:
    input:
        model="results/{experiment}/models/{variant}/seed{seed}/model.keras",
        test=variant_shards("test"),
        cache=backbone_cache("test"),
    output:
        metrics="results/{experiment}/eval/{variant}/seed{seed}/metrics.json",
        per_tag="results/{experiment}/eval/{variant}/seed{seed}/per_tag.csv",
        predictions="results/{experiment}/eval/{variant}/seed{seed}/predictions.h5",
    params:
        spec=to_json(S.evaluate),
        code=lambda w: code_fingerprint("evaluate", front_end=variant_front_end(w)),
        cache=lambda w, input: f"--cache {input.cache}" if input.cache else "",
        out=lambda w, output: str(Path(output.metrics).parent),
    # a frozen variant's head is scored in NumPy on its cache: one thread, two jobs side by side
    threads: lambda w: 2 if S.variants[w.variant].finetune else 1
    resources:
        mem_mb=4000,
        runtime=120,
    log:
        "results/{experiment}/logs/evaluate/{variant}/seed{seed}.log",
    benchmark:
        "results/{experiment}/benchmarks/evaluate/{variant}/seed{seed}.tsv"
    conda:
        ENV
    shell:
        "tagbench evaluate --model {input.model:q} --shards {input.test} {params.cache} "
        "--out-dir {params.out:q} --threads {threads} --spec {params.spec:q} > {log} 2>&1"


rule summarize:
    input:
        runs=seed_runs,
        split_test="results/{experiment}/split/test.tsv",
    output:
        metrics="results/{experiment}/eval/{variant}/metrics.json",
        per_tag="results/{experiment}/eval/{variant}/per_tag.csv",
        predictions="results/{experiment}/eval/{variant}/predictions.h5",
        bootstrap="results/{experiment}/eval/{variant}/bootstrap.csv",
    params:
        runs=lambda w, input: [str(Path(f).parent) for f in input.runs],
        seeds=lambda w: S.variants[w.variant].seeds,
        spec=to_json(S.bootstrap.for_summary()),
        code=code_fingerprint("summarize"),
        out=lambda w, output: str(Path(output.metrics).parent),
    # the bootstrap: ~0.09 s per resample and seed on MTT's test part (~5 min for 1,000 x 3)
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    log:
        "results/{experiment}/logs/summarize/{variant}.log",
    benchmark:
        "results/{experiment}/benchmarks/summarize/{variant}.tsv"
    conda:
        ENV
    shell:
        "tagbench summarize --runs {params.runs} --seeds {params.seeds} "
        "--split-test {input.split_test:q} --out-dir {params.out:q} "
        "--spec {params.spec:q} > {log} 2>&1"


rule baseline:
    input:
        train=baseline_shards("train"),
        valid=baseline_shards("valid"),
        test=baseline_shards("test"),
        split_test="results/{experiment}/split/test.tsv",
    output:
        metrics="results/{experiment}/baseline/metrics.json",
        per_tag="results/{experiment}/baseline/per_tag.csv",
        predictions="results/{experiment}/baseline/predictions.h5",
        bootstrap="results/{experiment}/baseline/bootstrap.csv",
    params:
        spec=to_json(S.bootstrap.for_summary()),
        code=code_fingerprint("baseline"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    log:
        "results/{experiment}/logs/baseline.log",
    benchmark:
        "results/{experiment}/benchmarks/baseline.tsv"
    conda:
        ENV
    shell:
        "tagbench baseline --train-shards {input.train} --valid-shards {input.valid} "
        "--test-shards {input.test} --split-test {input.split_test:q} "
        "--out-dir results/{wildcards.experiment}/baseline "
        "--spec {params.spec:q} > {log} 2>&1"


# Robustness (config robustness): every variant and seed scored on each deformed test part (its
# features and caches extracted once per front end and backbone), then summarized over seeds
# like the clean part; reporting/robustness.py pairs each with the clean summary.
use rule evaluate as evaluate_deformed with:
    input:
        model="results/{experiment}/models/{variant}/seed{seed}/model.keras",
        test=variant_shards(None),
        cache=backbone_cache(None),
    output:
        metrics="results/{experiment}/eval/{variant}/seed{seed}/robustness/{deformation}/metrics.json",
        per_tag="results/{experiment}/eval/{variant}/seed{seed}/robustness/{deformation}/per_tag.csv",
        predictions="results/{experiment}/eval/{variant}/seed{seed}/robustness/{deformation}/predictions.h5",
    log:
        "results/{experiment}/logs/evaluate/{variant}/seed{seed}-{deformation}.log",
    benchmark:
        "results/{experiment}/benchmarks/evaluate/{variant}/seed{seed}-{deformation}.tsv"


use rule summarize as summarize_deformed with:
    input:
        runs=lambda w: [
            f"results/{w.experiment}/eval/{w.variant}/seed{seed}/robustness/{w.deformation}/metrics.json"
            for seed in S.variants[w.variant].seeds
        ],
        split_test="results/{experiment}/split/test.tsv",
    output:
        metrics="results/{experiment}/eval/{variant}/robustness/{deformation}/metrics.json",
        per_tag="results/{experiment}/eval/{variant}/robustness/{deformation}/per_tag.csv",
        predictions="results/{experiment}/eval/{variant}/robustness/{deformation}/predictions.h5",
        bootstrap="results/{experiment}/eval/{variant}/robustness/{deformation}/bootstrap.csv",
    log:
        "results/{experiment}/logs/summarize/{variant}-{deformation}.log",
    benchmark:
        "results/{experiment}/benchmarks/summarize/{variant}-{deformation}.tsv"
