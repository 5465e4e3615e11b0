"""Names the workflow and the stages share: split parts, shard file names, the MTT files.

Light on purpose (no numpy, h5py, librosa or TensorFlow): the Snakefile imports it while it
parses, so every `snakemake` call, a dry run included, pays only for this.
"""

from __future__ import annotations

PARTS = ("train", "valid", "test")
# Every front end's rate (backbones.FRONT_ENDS): audio is decoded and resampled to it.
SAMPLE_RATE = 16000
# One VGGish example: 96 frames of 10 ms (0.96 s). Evaluation scores non-overlapping examples.
EXAMPLE_FRAMES = 96

# MagnaTagATune's files and their published SHA-256 (the jukemir project's asset manifest);
# config `mtt.sha256` overrides them by file name.
MTT_SHA256 = {
    "mp3.zip.001": "f857fe185968773058cc71662c2ef5d8f2d4b7338e3c122cfd52f82dcb9760b9",
    "mp3.zip.002": "fc2e1ec441755556ed1398b1808f1b08b6034372f8bc27394510c0c58cdb52ce",
    "mp3.zip.003": "83a689824c17e82f6eb81cdbc4e4ca239a4cfc1fb41f1a5c80b861caec90450f",
    "annotations_final.csv": "99b94e95825d4fa576386a5367b9c96e0ec636e9f9c240aceb492f4728f68c3c",
    "clip_info_final.csv": "cb6108a10d3a91f0bfd7d2fbec2382559d15f20c8d28093f14e12162a47a3e78",
}
MTT_FILES = tuple(MTT_SHA256)
# Empty (0-byte) or undecodable in the official archive: extraction records them as failed, and
# the `standard` split leaves them out, as the probing literature does.
MTT_KNOWN_BAD = {
    "35644": "6/norine_braun-now_and_zen-08-gently-117-146.mp3",
    "55753": "8/jacob_heringman-josquin_des_prez_lute_settings-19-gintzler__pater_noster-204-233.mp3",
    "57881": "9/american_baroque-dances_and_suites_of_rameau_and_couperin-25-le_petit_rien_"
             "xiveme_ordre_couperin-88-117.mp3",
}
MTT_PARTS = ("mp3.zip.001", "mp3.zip.002", "mp3.zip.003")


def shard_name(index: int) -> str:
    """Shard number -> file stem (`007`): shards sort in order, whatever their count."""
    return f"{index:03d}"
