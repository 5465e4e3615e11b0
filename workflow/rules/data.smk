# Datasets land in resources/{dataset}/ in MTT layout; the split writes results/{dataset}/split/.


rule make_demo:
    output:
        annotations="resources/demo/annotations_final.csv",
        audio=directory("resources/demo/audio"),
    params:
        spec=to_json(S.demo),
        code=code_fingerprint("demo"),
    localrule: True
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
    localrule: True
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
    localrule: True
    log:
        "results/{dataset}/logs/split.log",
    benchmark:
        "results/{dataset}/benchmarks/split.tsv"
    conda:
        ENV
    shell:
        "tagbench split {input:q} --out-dir results/{wildcards.dataset}/split "
        "--spec {params.spec:q} > {log} 2>&1"


# MagnaTagATune: each file downloaded on its own (resume, mirrors, sha256), then verified and
# put in the MTT layout. A file copied by hand into resources/mtt/download/ is used as is
# (and still checksum-verified by the rules that read it).
rule download_mtt:
    output:
        "resources/mtt/download/{mtt_file}",
    params:
        spec=to_json(S.mtt),
    localrule: True
    log:
        "results/mtt/logs/download/{mtt_file}.log",
    conda:
        ENV
    shell:
        "tagbench download-mtt {wildcards.mtt_file} --out {output:q} --spec {params.spec:q} > {log} 2>&1"


rule mtt_audio:
    input:
        [f"resources/mtt/download/{part}" for part in MTT_PARTS],
    output:
        directory("resources/mtt/audio"),
    params:
        spec=to_json(S.mtt),
        code=code_fingerprint("acquire"),
    log:
        "results/mtt/logs/mtt_audio.log",
    benchmark:
        "results/mtt/benchmarks/mtt_audio.tsv"
    conda:
        ENV
    shell:
        "tagbench prepare-mtt-audio {input:q} --out {output:q} --spec {params.spec:q} > {log} 2>&1"


rule mtt_table:
    input:
        "resources/mtt/download/{mtt_table}",
    output:
        "resources/mtt/{mtt_table}",
    params:
        spec=to_json(S.mtt),
        code=code_fingerprint("acquire"),
    localrule: True
    log:
        "results/mtt/logs/mtt_table/{mtt_table}.log",
    conda:
        ENV
    shell:
        "tagbench prepare-mtt-table {input:q} --out {output:q} --spec {params.spec:q} > {log} 2>&1"


rule download_vggish:
    output:
        VGGISH_CKPT,
    params:
        spec=to_json(S.vggish),
    localrule: True
    log:
        "results/vggish/download_vggish.log",
    conda:
        ENV
    shell:
        "tagbench download-vggish --out {output:q} --spec {params.spec:q} > {log} 2>&1"
