"""`tagbench check-backbone` (as HEAR's `hear-validator`) and `tagbench backbones`.

The check runs a backbone as the DAG would, on 10 s of seeded white noise and on a real clip
(one given, else a synthetic tone-and-noise clip, said so), and reports one line per check:
outputs named and shaped as declared, finite, deterministic (the same input twice gives the
same output), the patch count the patch and hop imply, and audio seconds per CPU second.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import backbones
from ..core.errors import TagbenchError

NOISE_SECONDS = 10.0


def _inputs(rate: int, clip) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(int(NOISE_SECONDS * rate))).astype(np.float32)
    if clip:
        from ..features.audio import load_audio

        return [("white noise", noise), (str(clip), load_audio(clip, "soxr_hq", rate))]
    t = np.arange(int(7.3 * rate)) / rate  # not a whole number of patches: the tail is dropped
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2
    return [("white noise", noise),
            ("synthetic clip (no --clip given)",
             (tone + 0.01 * rng.standard_normal(len(t))).astype(np.float32))]


def check_backbone(ref: str, clip=None, weights_path=None) -> tuple[list[str], bool]:
    """Run the checks; (report lines, all passed). A failure to load is one failed line."""
    from .runner import BackboneRunner

    lines: list[str] = []
    ok = True

    def say(passed: bool, text: str) -> None:
        nonlocal ok
        ok &= passed
        lines.append(f"{'ok  ' if passed else 'FAIL'} {text}")

    try:
        runner = BackboneRunner(ref, weights_path)
    except TagbenchError as err:
        say(False, f"load: {err}")
        return lines, ok
    spec = runner.spec
    say(True, f"load: {spec.name}, {spec.sample_rate} Hz, input {spec.input}, patch "
              f"{runner.patch_seconds:.3f} s, outputs "
              + ", ".join(f"{k} {tuple(v)}" for k, v in spec.outputs.items()))
    for label, samples in _inputs(spec.sample_rate, clip):
        try:
            patches = runner.patches_of(samples)
            first = runner.outputs(patches, label)
            start = time.process_time()  # the second call: set-up and tracing are not speed
            second = runner.outputs(patches, label)
            cpu = time.process_time() - start
        except TagbenchError as err:
            say(False, f"{label}: {err}")
            continue
        seconds = len(samples) / spec.sample_rate
        if spec.input == "waveform":
            expected = max(0, (max(len(samples), runner.patch) - runner.patch) // runner.hop + 1)
        else:
            frames = len(backbones.log_mel(spec.front_end, samples))
            expected = frames // runner.patch
        say(len(patches) == expected,
            f"{label}: {len(patches)} patches of {runner.patch_seconds:.3f} s from {seconds:.2f} s "
            f"(expected {expected})")
        finite = [k for k, v in first.items() if not np.isfinite(v).all()]
        say(not finite, f"{label}: outputs finite" + (f" (not: {', '.join(finite)})" if finite
                                                      else ""))
        same = [k for k in first if not np.array_equal(first[k], second[k])]
        say(not same, f"{label}: deterministic (twice the same input, the same output)"
            + (f" (not: {', '.join(same)})" if same else ""))
        lines.append(f"     {label}: {seconds / max(cpu, 1e-9):.0f} audio seconds per CPU second")
    return lines, ok


def describe(ref: str) -> dict:
    """One row of `tagbench backbones`: what a backbone declares, and whether its weights are
    present."""
    spec = backbones.backbone(ref)
    if spec.frozen_only:
        paths = list(backbones.weight_paths(spec).values())
        present = "yes" if all(Path(p).is_file() for p in paths) else "MISSING"
        present = present if paths else "none needed"
        where = spec.distribution or spec.ref
    else:
        files = {w: spec.weights_file(w) for w in spec.weight_choices if spec.weights_file(w)}
        missing = [f for f in files.values() if not Path(f).is_file()]
        present = (f"not yet ({missing[0]}: the workflow fetches it)" if missing else "yes")
        where = "built in"
    trained = spec.trained_on or {"name": " or ".join(
        [f"{spec.trained(w)['name']} (weights: {w})" for w in files] + ["nothing (random)"])}
    patch = (spec.patch_samples / spec.sample_rate if spec.input == "waveform"
             else backbones.front_end(spec.front_end).patch_seconds)
    # the name to give train.backbone, check-backbone and predict --backbone (a user's own
    # name, its cache folder, in parentheses where it differs)
    shown = spec.name if spec.ref in ("", spec.name) else f"{spec.ref} ({spec.name})"
    return {"backbone": shown, "from": where, "rate": spec.sample_rate, "input": spec.input,
            "patch_s": round(patch, 3),
            "outputs": " ".join(f"{k}{list(v)}" for k, v in spec.outputs.items()),
            "own_tags": len(spec.tags) if spec.tags else 0, "trained_on": trained["name"],
            "weights_present": present}
