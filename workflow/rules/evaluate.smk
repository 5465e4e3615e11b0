# Clip-level test metrics per variant.


rule evaluate:
    input:
        model="results/{dataset}/models/{variant}/model.keras",
        test=shard_files("test"),
        cache=backbone_cache("test"),
    output:
        metrics="results/{dataset}/eval/{variant}/metrics.json",
        per_tag="results/{dataset}/eval/{variant}/per_tag.csv",
        predictions="results/{dataset}/eval/{variant}/predictions.h5",
    params:
        spec=to_json(S.evaluate),
        code=code_fingerprint("evaluate"),
        cache=lambda w, input: f"--cache {input.cache}" if input.cache else "",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    log:
        "results/{dataset}/logs/evaluate/{variant}.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate/{variant}.tsv"
    conda:
        ENV
    shell:
        "tagbench evaluate --model {input.model:q} --shards {input.test} {params.cache} "
        "--out-dir results/{wildcards.dataset}/eval/{wildcards.variant} --threads {threads} "
        "--spec {params.spec:q} > {log} 2>&1"
