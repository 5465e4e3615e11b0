# Datasets land in resources/{dataset}/ in MTT layout; the split writes results/{experiment}/split/.


rule make_demo:
    output:
        annotations="resources/demo/annotations_final.csv",
        audio=directory("resources/demo/audio"),
    params:
        spec=to_json(S.demo),
        code=code_fingerprint("demo"),
    localrule: True
    log:
        "resources/demo/logs/make_demo.log",
    benchmark:
        "resources/demo/logs/make_demo.benchmark.tsv"
    conda:
        ENV
    shell:
        "tagbench make-demo --out resources/demo --spec {params.spec:q} > {log} 2>&1"


rule import_custom:
    input:
        annotations=S.custom_annotations or [],
    output:
        annotations=f"{CUSTOM_DIR}/annotations_final.csv",
    params:
        audio_dir=S.custom_audio_dir or "",
        out=lambda w, output: str(Path(output.annotations).parent),
        code=code_fingerprint("import"),
    localrule: True
    log:
        f"{CUSTOM_DIR}/logs/import_custom.log",
    benchmark:
        f"{CUSTOM_DIR}/logs/import_custom.benchmark.tsv"
    conda:
        ENV
    shell:
        "tagbench import-custom --annotations {input.annotations:q} "
        "--audio-dir {params.audio_dir:q} --out {params.out:q} > {log} 2>&1"


rule split:
    input:
        annotations=f"{DATA_DIR}/annotations_final.csv",
        # split.method lists: a changed list file makes the split stale
        lists=[S.split.lists[p] for p in PARTS] if S.split.method == "lists" else [],
        # tags.list: a changed list (shipped or the user's file) makes the split stale
        tag_list=str(list_path(S.split.tag_list)) if S.split.tag_list else [],
    output:
        parts=expand("results/{{experiment}}/split/{part}.tsv", part=PARTS),
        tags="results/{experiment}/split/tags.txt",
        provenance="results/{experiment}/split/split.json",
    params:
        # split.method kfold: the fold of this sub-experiment (results/{EXPERIMENT}/folds/r0f3)
        spec=lambda w: to_json(
            S.split.for_fold(w.experiment.rsplit("/", 1)[1]) if FOLDS else S.split.for_method()
        ),
        code=code_fingerprint("split"),
    localrule: True
    log:
        "results/{experiment}/logs/split.log",
    benchmark:
        "results/{experiment}/benchmarks/split.tsv"
    conda:
        ENV
    shell:
        "tagbench split {input.annotations:q} --out-dir results/{wildcards.experiment}/split "
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
        "resources/mtt/logs/download/{mtt_file}.log",
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
        "resources/mtt/logs/mtt_audio.log",
    benchmark:
        "resources/mtt/logs/mtt_audio.benchmark.tsv"
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
        "resources/mtt/logs/mtt_table/{mtt_table}.log",
    conda:
        ENV
    shell:
        "tagbench prepare-mtt-table {input:q} --out {output:q} --spec {params.spec:q} > {log} 2>&1"


# The built-ins' trained weights: one rule per step their families declare (a download, a
# pinned wheel, a checkpoint unpacked from it), each `tagbench weights NAME`, its config section
# a param (a changed url or path reruns it) and, unless it downloads, its family's code too.
for step in WEIGHT_STEPS.values():

    rule:
        name:
            step.name
        input:
            step.inputs,
        output:
            step.outputs,
        params:
            # (the shell string runs late: a loop variable there would be the last step's)
            step=step.name,
            spec=weight_spec(step),
            code=(
                code_fingerprint("weights", front_end=step.front_end)
                if step.rerun_on_code
                else ""
            ),
        localrule: True
        log:
            f"resources/logs/weights/{step.name}.log",
        conda:
            ENV
        shell:
            "tagbench weights {params.step} --spec {params.spec:q} > {log} 2>&1"
