"""Dataset verbs: the demo synthesis, a custom dataset and MagnaTagATune."""

from __future__ import annotations

from pathlib import Path

from ..settings.config import DemoSettings, MttSettings
from .spec import settings_from, settings_parent


def cmd_make_demo(args) -> None:
    from ..data.demo import make_demo

    ann = make_demo(args.out, settings_from(args, DemoSettings))
    print(f"demo dataset: {len(ann)} clips, {len(ann.tags)} tags -> {args.out}")


def cmd_import_custom(args) -> None:
    from ..data.custom import import_custom

    ann, missing = import_custom(args.annotations, args.audio_dir, args.out)
    note = f", {len(missing)} listed files missing (they will be recorded as failed)" if missing else ""
    print(f"custom dataset: {len(ann)} clips, {len(ann.tags)} tags{note}")


def cmd_import_drumkits(args) -> None:
    from ..data.drumkits import import_drumkits

    ann, left_out, shared = import_drumkits(args.kits_dir, args.out)
    counts = ", ".join(f"{t} {n}" for t, n in zip(ann.tags, ann.labels.sum(axis=0), strict=True))
    print(f"drum kits: {len(ann)} clips of {len(set(ann.tracks))} instruments; {counts} "
          f"-> {args.out}/annotations_final.csv, sources.csv")
    grouped: dict[tuple[str, str], list[str]] = {}
    for kit, what, why in left_out:
        grouped.setdefault((kit, why), []).append(what)
    for (kit, why), what in grouped.items():
        print(f"  left out of {kit} ({why}): {', '.join(what)}")
    for paths in shared:
        print(f"  one recording in two instruments (one track now): {' = '.join(paths)}")


def cmd_download_mtt(args) -> None:
    from ..data.acquire import download_mtt_file

    sha = download_mtt_file(args.name, args.out, settings_from(args, MttSettings))
    print(f"{args.out}: sha256 {sha} verified")


def cmd_prepare_mtt_audio(args) -> None:
    from ..data.acquire import prepare_mtt_audio

    n = prepare_mtt_audio(args.parts, args.out, settings_from(args, MttSettings))
    print(f"{args.out}: {n} files extracted from {', '.join(Path(p).name for p in args.parts)}")


def cmd_prepare_mtt_table(args) -> None:
    from ..data.acquire import prepare_mtt_table

    prepare_mtt_table(args.src, args.out, settings_from(args, MttSettings))
    print(f"{args.out}: verified copy of {args.src}")


def add_verbs(sub) -> None:
    settings = settings_parent()
    p = sub.add_parser("make-demo", parents=[settings],
                       help="synthesize the demo dataset in MTT layout")
    p.add_argument("--out", required=True, help="dataset folder (gets audio/ + annotations_final.csv)")
    p.set_defaults(func=cmd_make_demo)

    p = sub.add_parser("import-custom", help="validate a custom MTT-layout dataset and link it in")
    p.add_argument("--annotations", required=True)
    p.add_argument("--audio-dir", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_import_custom)

    p = sub.add_parser("import-drumkits",
                       help="recorded Hydrogen drum kits -> a custom dataset's annotations")
    p.add_argument("kits_dir", help="the folder of kit folders (hydrogen-drumkits' drumkits/)")
    p.add_argument("--out", required=True, help="gets annotations_final.csv and sources.csv")
    p.set_defaults(func=cmd_import_drumkits)

    p = sub.add_parser("download-mtt", parents=[settings],
                       help="download one MagnaTagATune file (resume, mirrors, sha256)")
    p.add_argument("name", help="mp3.zip.001..003, annotations_final.csv or clip_info_final.csv")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_download_mtt)

    p = sub.add_parser("prepare-mtt-audio", parents=[settings],
                       help="verify the MTT zip parts and extract them safely")
    p.add_argument("parts", nargs="+", help="mp3.zip.001 mp3.zip.002 mp3.zip.003, in order")
    p.add_argument("--out", required=True, help="audio folder to create")
    p.set_defaults(func=cmd_prepare_mtt_audio)

    p = sub.add_parser("prepare-mtt-table", parents=[settings],
                       help="verify a downloaded MTT csv and copy it into place")
    p.add_argument("src")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_prepare_mtt_table)
