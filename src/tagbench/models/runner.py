"""Any backbone run on audio files, outside the DAG: what `predict` (a head-only model, or a
tagger's own tags with `--backbone`) and `check-backbone` run.

The same steps as the DAG's: decode at the backbone's rate with the resampler the features
use, its front end (or waveform windows), the non-overlapping patches evaluation scores, and
its outputs per patch (a built-in's Keras graph, as the cache runs it; a user's class, checked
against what it declares).
"""

from __future__ import annotations

import numpy as np

from .. import backbones
from ..core.errors import DataError


class BackboneRunner:
    """A backbone with its weights loaded: audio file -> patches -> named outputs per patch.

    Parameters
    ----------
    ref : str
        A built-in's cache name (`backbones.cache_name`) or a user's backbone
        (`backbones.backbone`).
    weights_path : str or Path, optional
        A built-in's checkpoint (default: where the workflow puts it, `Backbone.weights_file`).
    """

    def __init__(self, ref: str, weights_path=None):
        name, weights, _ = backbones.parse_cache_name(ref)
        self.spec = spec = backbones.backbone(name)
        if spec.frozen_only:
            from .backbone_cache import open_plugin

            self._plugin = open_plugin(spec)
        else:
            from .backbone_cache import backbone_model

            if weights_path is None:
                weights_path = spec.weights_file(weights) or None
            self._model = backbone_model(ref, weights_path)
        if spec.input == "waveform":
            self.patch, self.hop = spec.patch_samples, spec.hop_samples
            self.patch_seconds = spec.patch_samples / spec.sample_rate
            self.hop_seconds = spec.hop_samples / spec.sample_rate  # between taggram columns
        else:
            fe = backbones.front_end(spec.front_end)
            self.patch = self.hop = fe.patch_frames
            self.patch_seconds = self.hop_seconds = fe.patch_seconds

    def patches_of(self, samples: np.ndarray) -> np.ndarray:
        """Mono samples at the backbone's rate -> the patches evaluation scores (every `hop`,
        a short clip padded to one patch)."""
        if self.spec.input == "waveform":
            if len(samples) < self.patch:
                samples = np.concatenate([samples, np.zeros(self.patch - len(samples), np.float32)])
            return backbones.patches(samples.reshape(-1, 1), self.patch, self.hop)[..., 0]
        return backbones.patches(backbones.log_mel(self.spec.front_end, samples), self.patch)

    def file_patches(self, path, resample: str = "soxr_hq") -> np.ndarray:
        from ..features.audio import load_audio

        return self.patches_of(load_audio(path, resample, self.spec.sample_rate))

    def outputs(self, patches: np.ndarray, where: str, batch_size: int = 256) -> dict:
        """{output: (n, *shape)} for a clip's patches, in batches; `where` names the clip in a
        user's backbone's errors."""
        if self.spec.frozen_only:
            from .backbone_cache import run_plugin

            parts = [run_plugin(self._plugin, self.spec, patches[lo:lo + batch_size], where)
                     for lo in range(0, len(patches), batch_size)]
            return {k: np.concatenate([p[k] for p in parts]) for k in self.spec.outputs}
        from .inference import predict_patches

        rows = next(predict_patches(self._model, [patches], batch_size))
        out, lo = {}, 0
        for name, shape in self.spec.outputs.items():
            width = int(np.prod(shape))
            out[name] = rows[:, lo:lo + width].reshape(-1, *shape)
            lo += width
        return out


def own_tags(spec) -> tuple[str, ...]:
    """A tagger's own tags (its `taggram` output), or one line saying which backbones have some."""
    if not spec.tags:
        taggers = [n for n, b in backbones.BACKBONES.items() if b.tags]
        raise DataError(f"backbone {spec.name} has no tags of its own to tag with (taggers: "
                        f"{', '.join(taggers)}); train a head on it instead")
    return spec.tags
