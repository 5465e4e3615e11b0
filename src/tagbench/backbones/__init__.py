"""The backbones a variant can train on, one module each, behind one registry.

A backbone is a network with its own front end: `vggish` (the official checkpoint, or seeded
random weights) and the four pretrained musicnn models (`MSD_musicnn`, `MSD_vgg`, trained on the
Million Song Dataset; `MTT_musicnn`, `MTT_vgg`, trained on MagnaTagATune folders 0-b). Each
declares here, as data: its front end, the per-patch outputs the frozen cache stores, which
output each pooling reads, its own output tags (a tagger's), and what it was trained on.

A third backbone is a module (network + weight loader) and an entry in `BACKBONES`; with a new
front end also its module and an entry in `FRONT_ENDS`, and a branch in the few dispatchers
that build networks and features (`front_end_params`, `log_mel`, `models.networks.build_backbone`,
`models.networks.load_backbone_weights`), which today know these two families.

Light on purpose (no numpy or TensorFlow at import): the Snakefile reads the registry while it
parses. `front_end_params`, `log_mel` and `patches` import their front end's module when called.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import DataError


@dataclass(frozen=True)
class FrontEnd:
    """A log-mel front end: what a feature shard is keyed by (`features/{front_end}/...`)."""

    name: str
    sample_rate: int
    frame_hop: int        # samples between frames
    n_mels: int
    patch_frames: int     # one network input
    # the family's modules (front end, networks, weights): a job of another front end's
    # backbones does not run them, so they are no part of its code fingerprint
    modules: tuple[str, ...] = ()

    @property
    def patch_seconds(self) -> float:
        return self.patch_frames * self.frame_hop / self.sample_rate


@dataclass(frozen=True)
class Backbone:
    name: str
    front_end: str
    outputs: dict[str, tuple[int, ...]] = field(hash=False)  # name -> per-patch shape (cached)
    poolings: dict[str, str] = field(hash=False)          # pooling -> the output it reads
    tags: tuple[str, ...] | None = None                   # a tagger's own outputs, in order
    trained_on: dict | None = field(default=None, hash=False)  # None: no training data (random)
    weights: str = "none"                                 # where trained weights come from

    def output_of(self, pooling: str) -> str:
        if pooling not in self.poolings:
            raise DataError(f"backbone {self.name} has no pooling {pooling!r} (its poolings: "
                            f"{', '.join(self.poolings)})")
        return self.poolings[pooling]


FRONT_ENDS = {
    "vggish": FrontEnd("vggish", 16000, 160, 64, 96,
                       ("backbones.vggish", "backbones.vggish_frontend")),
    "musicnn": FrontEnd("musicnn", 16000, 256, 96, 187,
                        ("backbones.musicnn", "backbones.musicnn_frontend",
                         "backbones.musicnn_weights")),
}

MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
    "weird", "country", "metal", "female voice", "choral")
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill",
    "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
    "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy",
    "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop",
    "sad", "House", "happy")
# What each was trained on: `folders` (MTT's hex folders its training and model selection saw)
# is what the leakage guard checks a split's test part against.
MTT_TRAINED_ON = {"dataset": "mtt", "name": "MagnaTagATune", "train": "folders 0-b",
                  "valid": "folder c (checkpoint selection, learning-rate schedule)",
                  "test": "folders d-f", "folders": "0123456789abc", "tags": "MTT top-50"}
MSD_TRAINED_ON = {"dataset": "msd", "name": "Million Song Dataset (7digital previews)",
                  "train": "201,680 clips", "valid": "11,774 clips", "test": "28,435 clips",
                  "tags": "Last.fm top-50"}
MUSICNN_OUTPUTS = {"max_pool": (753,), "mean_pool": (753,), "penultimate": (200,), "taggram": (50,)}
VGG_OUTPUTS = {"pool5": (256,), "taggram": (50,)}


def _identity(outputs) -> dict[str, str]:
    return {name: name for name in outputs}


BACKBONES = {
    # pooling avg / autopool read the pool4 map averaged over frequency (avg then averages its
    # 6 time steps: the global average), max the global max, embedding the fc layers' 128-d
    "vggish": Backbone("vggish", "vggish",
                       {"pool4_freq_mean": (6, 512), "pool4_max": (512,), "embedding": (128,)},
                       {"avg": "pool4_freq_mean", "autopool": "pool4_freq_mean",
                        "max": "pool4_max", "embedding": "embedding"},
                       weights="the official VGGish checkpoint (train.weights: vggish)"),
    "MSD_musicnn": Backbone("MSD_musicnn", "musicnn", MUSICNN_OUTPUTS, _identity(MUSICNN_OUTPUTS),
                            MSD_TAGS, MSD_TRAINED_ON, "the musicnn==0.1.0 wheel"),
    "MTT_musicnn": Backbone("MTT_musicnn", "musicnn", MUSICNN_OUTPUTS, _identity(MUSICNN_OUTPUTS),
                            MTT_TAGS, MTT_TRAINED_ON, "the musicnn==0.1.0 wheel"),
    "MSD_vgg": Backbone("MSD_vgg", "musicnn", VGG_OUTPUTS, _identity(VGG_OUTPUTS), MSD_TAGS,
                        MSD_TRAINED_ON, "the musicnn==0.1.0 wheel"),
    "MTT_vgg": Backbone("MTT_vgg", "musicnn", VGG_OUTPUTS, _identity(VGG_OUTPUTS), MTT_TAGS,
                        MTT_TRAINED_ON, "the musicnn==0.1.0 wheel"),
}
MUSICNN_MODELS = tuple(name for name, b in BACKBONES.items() if b.front_end == "musicnn")
# Folder names of frozen backbone caches: vggish (checkpoint), random{seed}, or a musicnn model.
CACHE_PATTERN = "vggish|random\\d+|" + "|".join(MUSICNN_MODELS)


def backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise DataError(f"unknown backbone {name!r} (known: {', '.join(BACKBONES)})")
    return BACKBONES[name]


def cache_name(backbone_name: str, weights: str, backbone_seed: int) -> str:
    """The folder a frozen backbone's cached outputs live in: `vggish` (the checkpoint),
    `random{seed}` (VGGish with random weights from their own seed, not the replicate seed, so
    every variant and replicate with that backbone shares one cache), or the musicnn model."""
    if backbone_name != "vggish":
        return backbone_name
    return "vggish" if weights == "vggish" else f"random{backbone_seed}"


def parse_cache_name(name: str) -> tuple[str, str, int]:
    """Inverse of `cache_name`: (backbone, weights, backbone_seed)."""
    if name == "vggish":
        return "vggish", "vggish", 0
    if name.startswith("random") and name[6:].isdigit():
        return "vggish", "none", int(name[6:])
    if name in MUSICNN_MODELS:
        return name, "pretrained", 0
    raise DataError(f"unknown backbone cache {name!r} (vggish, random<seed> or one of "
                    f"{', '.join(MUSICNN_MODELS)})")


def front_end(name: str) -> FrontEnd:
    if name not in FRONT_ENDS:
        raise DataError(f"unknown front end {name!r} (known: {', '.join(FRONT_ENDS)})")
    return FRONT_ENDS[name]


def front_end_params(name: str) -> dict:
    """The settings a feature shard records for its front end (what a model is checked against)."""
    if front_end(name).name == "musicnn":
        from . import musicnn_frontend

        return {**musicnn_frontend.PARAMS, "front_end": "musicnn"}
    from . import vggish_frontend

    return {**vggish_frontend.PARAMS, "front_end": "vggish"}


def log_mel(name: str, waveform):
    """16 kHz mono samples -> (frames, n_mels) float32 log-mel, padded so that a clip shorter
    than one patch gives one (silence at the end of the waveform, for both front ends)."""
    if front_end(name).name == "musicnn":
        from . import musicnn_frontend

        return musicnn_frontend.log_mel(musicnn_frontend.pad_to_patch(waveform))
    from . import vggish_frontend

    return vggish_frontend.log_mel(vggish_frontend.pad_to_example(waveform))


def patches(logmel, patch_frames: int, step: int | None = None):
    """(frames, n_mels) -> (n, patch_frames, n_mels) windows every `step` frames (default: one
    patch, non-overlapping, what evaluation scores); the incomplete tail is dropped. The one
    patching of every front end."""
    import numpy as np

    step = patch_frames if step is None else step
    if step < 1:
        raise ValueError(f"a patch step must be >= 1 frame, not {step}")
    if len(logmel) < patch_frames:
        return np.zeros((0, patch_frames, logmel.shape[1]), logmel.dtype)
    view = np.lib.stride_tricks.sliding_window_view(logmel, patch_frames, axis=0)[::step]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


def provenance(backbone_name: str, weights: str, dataset: str) -> str:
    """What a variant's figure measures, by what its backbone learned from: transfer, in-domain
    supervised tagging (a backbone trained on the dataset itself), or random features."""
    spec = backbone(backbone_name)
    if spec.trained_on is None:
        if weights == "vggish":
            return "transfer from YouTube-8M (the VGGish checkpoint)"
        return "random weights (no pretraining)"
    if spec.trained_on.get("dataset") == dataset:
        return "in-domain supervised, not transfer"
    return f"transfer from {spec.trained_on['dataset'].upper()}"


def leaked_test_folders(backbone_name: str, dataset: str, test_folders) -> list[str]:
    """The test part's MTT folders that a backbone was trained or selected on (none for other
    backbones and datasets): testing there measures memory, not tagging."""
    trained = backbone(backbone_name).trained_on or {}
    if trained.get("dataset") != dataset or "folders" not in trained:
        return []
    return sorted(set(test_folders) & set(trained["folders"]))
