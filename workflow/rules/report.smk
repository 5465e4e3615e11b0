# Curves and the comparison across variants and the baseline, tagged for `snakemake --report`.
VARIANTS = list(S.variants)
RUNS = [(v, seed) for v in VARIANTS for seed in S.variants[v].seeds]


rule report_curves:
    input:
        [f"results/{{experiment}}/models/{v}/seed{seed}/history.csv" for v, seed in RUNS],
    output:
        report(
            "results/{experiment}/report/curves.png",
            caption="../report/curves.rst",
            category="Training",
        ),
    params:
        variants=[v for v, _ in RUNS],
        code=code_fingerprint("report"),
    localrule: True
    log:
        "results/{experiment}/logs/report_curves.log",
    benchmark:
        "results/{experiment}/benchmarks/report_curves.tsv"
    conda:
        ENV
    shell:
        "tagbench curves --variants {params.variants} --histories {input} "
        "--out {output:q} > {log} 2>&1"


rule report_compare:
    input:
        metrics=expand("results/{{experiment}}/eval/{variant}/metrics.json", variant=VARIANTS),
        bootstrap=expand("results/{{experiment}}/eval/{variant}/bootstrap.csv", variant=VARIANTS),
        baseline="results/{experiment}/baseline/metrics.json",
        models=[
            f"results/{{experiment}}/models/{v}/seed{S.variants[v].seeds[0]}/model.keras"
            for v in VARIANTS
        ],
        split=expand("results/{{experiment}}/split/{part}.tsv", part=PARTS),
    output:
        csv=report(
            "results/{experiment}/report/comparison.csv",
            caption="../report/comparison_table.rst",
            category="Comparison",
        ),
        md="results/{experiment}/report/comparison.md",
        differences=report(
            "results/{experiment}/report/differences.csv",
            caption="../report/differences.rst",
            category="Comparison",
        ),
        # the HTML report's landing page (Snakefile: report directive)
        overview="results/{experiment}/report/overview.rst",
        chart=report(
            "results/{experiment}/report/comparison.png",
            caption="../report/comparison.rst",
            category="Comparison",
        ),
        forest=report(
            "results/{experiment}/report/forest.png",
            caption="../report/forest.rst",
            category="Comparison",
        ),
        per_tag=report(
            "results/{experiment}/report/per_tag_auc.png",
            caption="../report/per_tag_auc.rst",
            category="Comparison",
        ),
        roc_pr=report(
            "results/{experiment}/report/roc_pr.png",
            caption="../report/roc_pr.rst",
            category="Comparison",
        ),
    params:
        variants=VARIANTS,
        dataset=DATASET,
        eval_dirs=expand("results/{{experiment}}/eval/{variant}", variant=VARIANTS),
        # the interval method and the flags' correction
        spec=to_json(S.bootstrap),
        code=code_fingerprint("report"),
    localrule: True
    log:
        "results/{experiment}/logs/report_compare.log",
    benchmark:
        "results/{experiment}/benchmarks/report_compare.tsv"
    conda:
        ENV
    shell:
        "tagbench report --variants {params.variants} --eval-dirs {params.eval_dirs} "
        "--baseline-dir results/{wildcards.experiment}/baseline --model-metadata {input.models} "
        "--out-dir results/{wildcards.experiment}/report --spec {params.spec:q} "
        "--split-dir results/{wildcards.experiment}/split --dataset {params.dataset} --experiment {wildcards.experiment} > {log} 2>&1"


# Robustness: each variant's figure under every deformation and its drop from the clean figure,
# seed-paired over the same test resamples, and which variant degrades less.
# (defined only when robustness is configured: without it, an earlier run's table is kept, not
# rebuilt empty)
if S.robustness:

    rule report_robustness:
        input:
            clean=expand("results/{{experiment}}/eval/{variant}/metrics.json", variant=VARIANTS),
            deformed=expand(
                "results/{{experiment}}/eval/{variant}/robustness/{deformation}/metrics.json",
                variant=VARIANTS,
                deformation=S.robustness,
            ),
        output:
            csv=report(
                "results/{experiment}/report/robustness.csv",
                caption="../report/robustness_table.rst",
                category="Robustness",
            ),
            pairs="results/{experiment}/report/robustness_pairs.csv",
            md="results/{experiment}/report/robustness.md",
            png=report(
                "results/{experiment}/report/robustness.png",
                caption="../report/robustness.rst",
                category="Robustness",
            ),
        params:
            variants=VARIANTS,
            deformations=list(S.robustness),
            spec=to_json(S.bootstrap),
            code=code_fingerprint("robustness"),
        localrule: True
        log:
            "results/{experiment}/logs/report_robustness.log",
        benchmark:
            "results/{experiment}/benchmarks/report_robustness.tsv"
        conda:
            ENV
        shell:
            "tagbench robustness --variants {params.variants} "
            "--deformations {params.deformations:q} --eval-root results/{wildcards.experiment}/eval "
            "--out-dir results/{wildcards.experiment}/report --spec {params.spec:q} > {log} 2>&1"


# split.method kfold: every variant and the floor summarized over the folds (each fold x seed a
# replicate; the corrected resampled t), and the comparison, in the experiment's own folder.
CV_REPORT = ["comparison.csv", "comparison.md", "differences.csv", "comparison.png",
             "forest.png", "overview.rst"]
if FOLDS:

    rule cross_validate:
        input:
            runs=[f"{d}/eval/{v}/seed{s}/metrics.json" for d in FOLD_DIRS for v in VARIANTS
                  for s in S.variants[v].seeds],
            models=[f"{d}/models/{v}/seed{S.variants[v].seeds[0]}/model.keras"
                    for d in FOLD_DIRS[:1] for v in VARIANTS],
            baselines=[f"{d}/baseline/metrics.json" for d in FOLD_DIRS],
            splits=[f"{d}/split/split.json" for d in FOLD_DIRS],
        output:
            summaries=[f"results/{EXPERIMENT}/eval/{v}/metrics.json" for v in VARIANTS],
            baseline=f"results/{EXPERIMENT}/baseline/metrics.json",
            csv=report(f"results/{EXPERIMENT}/report/comparison.csv",
                       caption="../report/comparison_table.rst", category="Comparison"),
            md=f"results/{EXPERIMENT}/report/comparison.md",
            differences=report(f"results/{EXPERIMENT}/report/differences.csv",
                               caption="../report/differences.rst",
                               category="Comparison"),
            chart=report(f"results/{EXPERIMENT}/report/comparison.png",
                         caption="../report/folds.rst", category="Comparison"),
            forest=report(f"results/{EXPERIMENT}/report/forest.png",
                          caption="../report/forest.rst", category="Comparison"),
            overview=f"results/{EXPERIMENT}/report/overview.rst",
        params:
            variants=VARIANTS,
            seeds=json.dumps({v: list(S.variants[v].seeds) for v in VARIANTS}, sort_keys=True),
            folds=FOLD_DIRS,
            # the experiment's folder, above its report
            out=lambda w, output: str(Path(output.csv).parent.parent),
            experiment=EXPERIMENT,
            dataset=DATASET,
            spec=to_json(S.bootstrap),
            code=code_fingerprint("report"),
        localrule: True
        log:
            f"results/{EXPERIMENT}/logs/cross_validate.log",
        benchmark:
            f"results/{EXPERIMENT}/benchmarks/cross_validate.tsv"
        conda:
            ENV
        shell:
            "tagbench cross-validate --variants {params.variants} --seeds {params.seeds:q} "
            "--folds {params.folds} --out-dir {params.out:q} --dataset {params.dataset} "
            "--experiment {params.experiment:q} --spec {params.spec:q} > {log} 2>&1"


# Every experiment under results/ side by side, beside published numbers (same split and tags).
rule leaderboard:
    input:
        every_comparison,
    output:
        csv="results/leaderboard.csv",
        md="results/leaderboard.md",
        png=report(
            "results/leaderboard.png",
            caption="../report/leaderboard.rst",
            category="Leaderboard",
        ),
    params:
        code=code_fingerprint("leaderboard"),
        # editing the published rows (shipped with the package) updates the leaderboard
        published=file_digest(Path(workflow.basedir) / "src/tagbench/reporting/published.csv"),
    localrule: True
    log:
        "results/leaderboard.log",
    conda:
        ENV
    shell:
        "tagbench leaderboard --results results --out results/leaderboard > {log} 2>&1"
