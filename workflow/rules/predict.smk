# Tag a folder of the user's own audio with a trained variant (config: predict).


rule predict:
    input:
        model=first_seed_model,
        audio=predict_audio,
    output:
        "results/{experiment}/predict/{variant}.csv",
    params:
        audio_dir=S.predict.audio_dir or "",
        top_k=S.predict.top_k,
        code=lambda w: code_fingerprint("predict", front_end=variant_front_end(w)),
    threads: 2
    log:
        "results/{experiment}/logs/predict/{variant}.log",
    benchmark:
        "results/{experiment}/benchmarks/predict/{variant}.tsv"
    conda:
        ENV
    # exit status 3 = some files could not be decoded: they are listed in the table's error
    # column (cli/predict.py SOME_FILES_FAILED); any other failure fails the job
    shell:
        "tagbench predict --model {input.model:q} {params.audio_dir:q} --csv --top-k {params.top_k} "
        "--threads {threads} --out {output:q} > {log} 2>&1 || test $? -eq 3"
