# Curves and the comparison across variants and the baseline, tagged for `snakemake --report`.
VARIANTS = list(S.variants)
RUNS = [(v, seed) for v in VARIANTS for seed in S.variants[v].seeds]


rule report_curves:
    input:
        [f"results/{{dataset}}/models/{v}/seed{seed}/history.csv" for v, seed in RUNS],
    output:
        report(
            "results/{dataset}/report/curves.png",
            caption="../report/curves.rst",
            category="Training",
        ),
    params:
        variants=[v for v, _ in RUNS],
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
        bootstrap=expand("results/{{dataset}}/eval/{variant}/bootstrap.csv", variant=VARIANTS),
        baseline="results/{dataset}/baseline/metrics.json",
        models=[
            f"results/{{dataset}}/models/{v}/seed{S.variants[v].seeds[0]}/model.keras"
            for v in VARIANTS
        ],
        split=expand("results/{{dataset}}/split/{part}.tsv", part=PARTS),
    output:
        csv=report(
            "results/{dataset}/report/comparison.csv",
            caption="../report/comparison_table.rst",
            category="Comparison",
        ),
        md="results/{dataset}/report/comparison.md",
        differences=report(
            "results/{dataset}/report/differences.csv",
            caption="../report/differences.rst",
            category="Comparison",
        ),
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
        roc_pr=report(
            "results/{dataset}/report/roc_pr.png",
            caption="../report/roc_pr.rst",
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
        "tagbench report --variants {params.variants} --eval-dirs {params.eval_dirs} "
        "--baseline-dir results/{wildcards.dataset}/baseline --model-metadata {input.models} "
        "--out-dir results/{wildcards.dataset}/report "
        "--split-dir results/{wildcards.dataset}/split --dataset {wildcards.dataset} > {log} 2>&1"
