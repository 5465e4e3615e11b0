# One job per HDF5 shard: clips go to shards by a hash of their id (tagbench.features.shard_of).


rule extract:
    input:
        split="results/{dataset}/split/{part}.tsv",
        annotations="resources/{dataset}/annotations_final.csv",
        audio=audio_input,
    output:
        "results/{dataset}/features/{part}/{shard}.h5",
    params:
        n_shards=lambda w: S.shards[w.part],
        spec=to_json(S.features),
        code=code_fingerprint("features"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    log:
        "results/{dataset}/logs/extract/{part}-{shard}.log",
    benchmark:
        "results/{dataset}/benchmarks/extract/{part}-{shard}.tsv"
    conda:
        ENV
    shell:
        "tagbench extract {input.split:q} --audio-root resources/{wildcards.dataset}/audio "
        "--shard {wildcards.shard} --n-shards {params.n_shards} --out {output:q} "
        "--spec {params.spec:q} > {log} 2>&1"
