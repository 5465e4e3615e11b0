"""dataset: custom: any folder + MTT-layout annotations, any format/rate/channels."""

import numpy as np

from tagbench.data.annotations import read_annotations
from tagbench.features.shards import FeatureStore, extract_shard
from tagbench.settings.config import FeatureSettings

from .conftest import run_cli, write_part, write_wav


def test_import_custom_links_audio_and_extracts_any_format(tmp_path):
    audio = tmp_path / "my_music"
    t = np.arange(44100 * 2) / 44100
    write_wav(audio / "a" / "song-0-2.wav", np.stack([np.sin(2 * np.pi * 220 * t)] * 2, 1) * 0.3,
              44100)
    write_wav(audio / "b" / "other-0-1.flac", np.sin(2 * np.pi * 440 * t[:8000]) * 0.3, 8000)
    ann = tmp_path / "labels.csv"
    ann.write_text('"clip_id"\t"calm"\t"mp3_path"\n"10"\t"1"\t"a/song-0-2.wav"\n'
                   '"11"\t"0"\t"b/other-0-1.flac"\n')
    out = tmp_path / "resources" / "custom"
    proc = run_cli("import-custom", "--annotations", ann, "--audio-dir", audio, "--out", out)
    assert "2 clips, 1 tags" in proc.stdout
    assert (out / "audio").resolve() == audio.resolve()
    assert read_annotations(out / "annotations_final.csv").clip_ids == ("10", "11")

    tsv = tmp_path / "all.tsv"
    write_part(tsv, "clip_id\ttrack\tmp3_path\tcalm\n10\ta/song\ta/song-0-2.wav\t1\n"
                   "11\tb/other\tb/other-0-1.flac\t0\n")
    counts = extract_shard(tsv, out / "audio", 0, 1, tmp_path / "s.h5", FeatureSettings())
    assert counts == {"clips": 2, "failed": 0, "frames": counts["frames"],
                      "seconds": counts["seconds"]}
    store = FeatureStore([tmp_path / "s.h5"])
    assert store.n_frames.tolist() == [1 + (32000 - 400) // 160, 1 + (16000 - 400) // 160]


def test_import_custom_with_wrong_audio_dir_says_which_key(tmp_path):
    ann = tmp_path / "labels.csv"
    ann.write_text('"clip_id"\t"calm"\t"mp3_path"\n"10"\t"1"\t"a/song.wav"\n')
    proc = run_cli("import-custom", "--annotations", ann, "--audio-dir", tmp_path / "nope",
                   "--out", tmp_path / "o", check=False)
    assert proc.returncode == 2 and "custom.audio_dir" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_replaced_custom_audio_file_makes_its_features_stale(tmp_path):
    """dataset: custom links the user's folder, so no rule makes the audio: each audio file
    the annotations name is an input of extraction, and re-encoding one reruns it."""
    import os

    from .conftest import planned, snakemake, write_config

    audio = tmp_path / "my_music"
    t = np.arange(16000) / 16000
    rows = ['"clip_id"\t"calm"\t"loud"\t"mp3_path"']
    for i in range(12):
        write_wav(audio / f"s{i}-0-1.wav", 0.1 * (1 + i % 3) * np.sin(2 * np.pi * 110 * (i + 1) * t))
        rows.append(f'"{i}"\t"{i % 2}"\t"{1 - i % 2}"\t"s{i}-0-1.wav"')
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    write_config(tmp_path, {"dataset": "custom", "split": {"method": "group"},
                            "custom": {"annotations": str(tmp_path / "labels.csv"),
                                       "audio_dir": str(audio)},
                            "features": {"shards": {"train": 1, "valid": 1, "test": 1}}})
    shards = [f"results/custom/features/vggish/{p}/000.h5" for p in ("train", "valid", "test")]
    proc = snakemake(tmp_path, *shards)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert planned(snakemake(tmp_path, "-n", *shards)) == {}
    later = os.stat(audio / "s3-0-1.wav").st_mtime + 10
    write_wav(audio / "s3-0-1.wav", 0.2 * np.sin(2 * np.pi * 880 * t))  # re-encoded, same name
    os.utime(audio / "s3-0-1.wav", (later, later))
    assert planned(snakemake(tmp_path, "-n", *shards)) == {"extract": 3}

    # a second custom experiment imports its own table: the first's results stay as they were
    (tmp_path / "other.csv").write_text("\n".join(rows[:7]) + "\n")
    first = (tmp_path / "config.yaml").read_text()
    write_config(tmp_path, {"dataset": "custom", "experiment": "other",
                            "split": {"method": "group"},
                            "custom": {"annotations": str(tmp_path / "other.csv"),
                                       "audio_dir": str(audio)}})
    proc = snakemake(tmp_path, "results/other/split/split.json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "resources/custom/other/annotations_final.csv").read_text().count("\n") == 7
    (tmp_path / "config.yaml").write_text(first)
    assert (tmp_path / "resources/custom/custom/annotations_final.csv").read_text().count("\n") == 13
    assert planned(snakemake(tmp_path, "-n", *shards)) == {"extract": 3}
