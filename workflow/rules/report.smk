# Curves and the comparison across variants, tagged for `snakemake --report`.
VARIANTS = list(S.variants)


rule report_curves:
    input:
        expand("results/{{dataset}}/models/{variant}/history.csv", variant=VARIANTS),
    output:
        report(
            "results/{dataset}/report/curves.png",
            caption="../report/curves.rst",
            category="Training",
        ),
    params:
        variants=VARIANTS,
        code=code_fingerprint("report"),
    localrule: True
    log:
        "results/{dataset}/logs/report_curves.log",
    benchmark:
        "results/{dataset}/benchmarks/report_curves.tsv"
    conda:
        ENV
    shell:
        "tagbench curves --variants {params.variants} --histories {input} "
        "--out {output:q} > {log} 2>&1"


rule report_compare:
    input:
        metrics=expand("results/{{dataset}}/eval/{variant}/metrics.json", variant=VARIANTS),
        per_tag=expand("results/{{dataset}}/eval/{variant}/per_tag.csv", variant=VARIANTS),
        models=expand("results/{{dataset}}/models/{variant}/model.keras", variant=VARIANTS),
        split=expand("results/{{dataset}}/split/{part}.tsv", part=PARTS),
    output:
        csv=report(
            "results/{dataset}/report/comparison.csv",
            caption="../report/comparison_table.rst",
            category="Comparison",
        ),
        md="results/{dataset}/report/comparison.md",
        # the HTML report's landing page (Snakefile: report directive)
        overview="results/{dataset}/report/overview.rst",
        chart=report(
            "results/{dataset}/report/comparison.png",
            caption="../report/comparison.rst",
            category="Comparison",
        ),
        per_tag=report(
            "results/{dataset}/report/per_tag_auc.png",
            caption="../report/per_tag_auc.rst",
            category="Comparison",
        ),
    params:
        variants=VARIANTS,
        eval_dirs=expand("results/{{dataset}}/eval/{variant}", variant=VARIANTS),
        code=code_fingerprint("report"),
    localrule: True
    log:
        "results/{dataset}/logs/report_compare.log",
    benchmark:
        "results/{dataset}/benchmarks/report_compare.tsv"
    conda:
        ENV
    shell:
        "tagbench compare --variants {params.variants} --eval-dirs {params.eval_dirs} "
        "--model-metadata {input.models} --out-dir results/{wildcards.dataset}/report "
        "--split-dir results/{wildcards.dataset}/split --dataset {wildcards.dataset} > {log} 2>&1"
