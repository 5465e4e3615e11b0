# Datasets land in resources/{dataset}/ in MTT layout; the split writes results/{dataset}/split/.


rule make_demo:
    output:
        annotations="resources/demo/annotations_final.csv",
        audio=directory("resources/demo/audio"),
    params:
        spec=to_json(S.demo),
        code=code_fingerprint("demo"),
    log:
        "results/demo/logs/make_demo.log",
    benchmark:
        "results/demo/benchmarks/make_demo.tsv"
    conda:
        ENV
    shell:
        "tagbench make-demo --out resources/demo --spec {params.spec:q} > {log} 2>&1"


rule import_custom:
    input:
        annotations=S.custom_annotations or [],
    output:
        annotations="resources/custom/annotations_final.csv",
    params:
        audio_dir=S.custom_audio_dir or "",
        code=code_fingerprint("import"),
    log:
        "results/custom/logs/import_custom.log",
    benchmark:
        "results/custom/benchmarks/import_custom.tsv"
    conda:
        ENV
    shell:
        "tagbench import-custom --annotations {input.annotations:q} "
        "--audio-dir {params.audio_dir:q} --out resources/custom > {log} 2>&1"


rule split:
    input:
        "resources/{dataset}/annotations_final.csv",
    output:
        parts=expand("results/{{dataset}}/split/{part}.tsv", part=PARTS),
        tags="results/{dataset}/split/tags.txt",
    params:
        spec=to_json(S.split),
        code=code_fingerprint("split"),
    log:
        "results/{dataset}/logs/split.log",
    benchmark:
        "results/{dataset}/benchmarks/split.tsv"
    conda:
        ENV
    shell:
        "tagbench split {input:q} --out-dir results/{wildcards.dataset}/split "
        "--spec {params.spec:q} > {log} 2>&1"
