"""The download half of the CLI: MagnaTagATune and the VGGish checkpoint."""

from __future__ import annotations

from pathlib import Path

from .config import MttSettings, VggishSettings


def cmd_download_mtt(args) -> None:
    from .acquire import download_mtt_file

    sha = download_mtt_file(args.name, args.out, args.spec_of(MttSettings))
    print(f"{args.out}: sha256 {sha} verified")


def cmd_prepare_mtt_audio(args) -> None:
    from .acquire import prepare_mtt_audio

    n = prepare_mtt_audio(args.parts, args.out, args.spec_of(MttSettings))
    print(f"{args.out}: {n} files extracted from {', '.join(Path(p).name for p in args.parts)}")


def cmd_prepare_mtt_table(args) -> None:
    from .acquire import prepare_mtt_table

    prepare_mtt_table(args.src, args.out, args.spec_of(MttSettings))
    print(f"{args.out}: verified copy of {args.src}")


def cmd_download_vggish(args) -> None:
    from .acquire import download_vggish
    from .train import configure_tensorflow

    spec = args.spec_of(VggishSettings)
    configure_tensorflow(2, mixed_precision=False)
    sha = download_vggish(args.out, spec)
    checked = "smoke test passed" if spec.smoke_test else "smoke test off (vggish.smoke_test)"
    print(f"{args.out}: sha256 {sha}; {checked}")


def cmd_check_vggish(args) -> None:
    from .acquire import check_vggish
    from .errors import DataError
    from .train import configure_tensorflow

    if not Path(args.ckpt).is_file():
        raise DataError(f"{args.ckpt}: checkpoint not found")
    configure_tensorflow(2, mixed_precision=False)
    mean, std = check_vggish(args.ckpt)
    print(f"{args.ckpt}: smoke test passed (embedding mean {mean:.6f}, std {std:.4f})")


def add_verbs(sub, add_spec) -> None:
    p = sub.add_parser("download-mtt", help="download one MagnaTagATune file (resume, mirrors, sha256)")
    p.add_argument("name", help="mp3.zip.001..003, annotations_final.csv or clip_info_final.csv")
    p.add_argument("--out", required=True)
    add_spec(p)
    p.set_defaults(func=cmd_download_mtt)

    p = sub.add_parser("prepare-mtt-audio", help="verify the MTT zip parts and extract them safely")
    p.add_argument("parts", nargs="+", help="mp3.zip.001 mp3.zip.002 mp3.zip.003, in order")
    p.add_argument("--out", required=True, help="audio folder to create")
    add_spec(p)
    p.set_defaults(func=cmd_prepare_mtt_audio)

    p = sub.add_parser("prepare-mtt-table", help="verify a downloaded MTT csv and copy it into place")
    p.add_argument("src")
    p.add_argument("--out", required=True)
    add_spec(p)
    p.set_defaults(func=cmd_prepare_mtt_table)

    p = sub.add_parser("download-vggish", help="download the VGGish checkpoint and smoke-test it")
    p.add_argument("--out", required=True)
    add_spec(p)
    p.set_defaults(func=cmd_download_vggish)

    p = sub.add_parser("check-vggish", help="run the official smoke test on a VGGish checkpoint")
    p.add_argument("ckpt")
    p.set_defaults(func=cmd_check_vggish)
