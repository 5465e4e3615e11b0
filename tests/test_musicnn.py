"""The musicnn port against the original trained graphs' outputs; its front end, weights, loader.

The golden tensors and the reference clip are in ../shared/reference/musicnn (see its README);
the weights come from the musicnn==0.1.0 wheel that `make setup` puts in resources/musicnn/.
"""

import hashlib
import io
import zipfile

import numpy as np
import pytest

from tagbench.backbones import musicnn as mn
from tagbench.backbones import musicnn_frontend as mf
from tagbench.backbones import musicnn_weights as mw
from tagbench.core.errors import DataError

from .conftest import ROOT

REFERENCE = ROOT.parent / "shared" / "reference" / "musicnn"
CLIP = REFERENCE / "joram-moments_of_clarity-08-solipsism-59-88.mp3"
MUSICNN_OUTPUTS = ("taggram", "logits", "penultimate", "mean_pool", "max_pool")
VGG_OUTPUTS = ("taggram", "logits", "pool5")
ABS_TOL = 1e-5
# float32 rounding scales with the value: logits reach -11, where another CPU's conv kernels
# (AMD EPYC here, 2026-12-04) differ by 1.4e-5 (2e-6 relative); the port's known silent faults
# are orders larger (float16 mel rounding 2e-4, MSD_vgg pooling 0.26)
REL_TOL = 3e-6  # 5x the 5.7e-7 those kernels need beyond ABS_TOL
MAX_POOL_RTOL = 1e-3   # un-normalised activations up to ~100: float32 rounding of another conv algorithm


def reference(model: str):
    path = REFERENCE / f"joram_{model}.npz"
    if not path.is_file():
        pytest.fail(f"{path} missing: the reference folder shared/ belongs beside the repository")
    return np.load(path)


@pytest.fixture(scope="module")
def wheel(musicnn_wheel):
    return musicnn_wheel


@pytest.fixture(scope="module")
def prefixes(musicnn_prefixes):
    return musicnn_prefixes


@pytest.fixture(scope="module")
def pretrained(prefixes):
    """model -> the Keras port with its trained weights (built once for the module)."""
    import tensorflow as tf

    tf.config.experimental.enable_tensor_float_32_execution(False)
    return {model: mn.pretrained(model, prefix) for model, prefix in prefixes.items()}


@pytest.fixture(scope="module")
def outputs(pretrained):
    return {model: net.predict_on_batch(reference(model)["batch"]) for model, net in pretrained.items()}


def differences(got: dict, ref) -> dict[str, tuple[float, float]]:
    """output -> (max abs difference, max relative difference |d| / max(|ref|, 1e-3))."""
    out = {}
    for key, value in got.items():
        expected = ref[key].reshape(value.shape)
        diff = np.abs(value - expected)
        out[key] = float(diff.max()), float((diff / np.maximum(np.abs(expected), 1e-3)).max())
    return out


# --- exactness against the original trained graphs -------------------------------------------

@pytest.mark.parametrize("model", list(mn.MODELS))
def test_port_computes_what_the_trained_graph_computes(model, outputs):
    ref = reference(model)
    got = outputs[model]
    expected_keys = MUSICNN_OUTPUTS if mn.MODELS[model].architecture == "musicnn" else VGG_OUTPUTS
    assert set(got) == set(expected_keys)
    diffs = differences(got, ref)
    print(model, {k: f"abs {a:.2g} rel {r:.2g}" for k, (a, r) in diffs.items()})
    for key in expected_keys:
        if key == "max_pool":
            np.testing.assert_allclose(got[key], ref[key][..., 0], rtol=MAX_POOL_RTOL, atol=ABS_TOL)
        else:
            np.testing.assert_allclose(got[key], ref[key].reshape(got[key].shape), rtol=REL_TOL,
                                       atol=ABS_TOL, err_msg=f"{model} {key}")


def test_output_shapes_and_facts():
    assert {k: v.architecture for k, v in mn.MODELS.items()} == {
        "MSD_musicnn": "musicnn", "MTT_musicnn": "musicnn", "MSD_vgg": "vgg", "MTT_vgg": "vgg"}
    for info in mn.MODELS.values():
        assert len(info.tags) == len(set(info.tags)) == 50
    assert mn.MODELS["MSD_musicnn"].tags[17] == "Mellow" and mn.MODELS["MTT_vgg"].tags[0] == "guitar"
    assert mn.MODELS["MTT_musicnn"].trained_on["valid"].startswith("folder c")
    net = mn.build("MTT_musicnn")
    assert {k: tuple(t.shape) for k, t in net.output.items()} == {
        "taggram": (None, 50), "logits": (None, 50), "penultimate": (None, 200),
        "mean_pool": (None, 753), "max_pool": (None, 753)}
    assert tuple(mn.build("MSD_vgg").output["pool5"].shape) == (None, 256)
    with pytest.raises(DataError, match="unknown musicnn model"):
        mn.build("MSD_musicnn_big")


def test_msd_vgg_needs_its_own_pooling(pretrained, prefixes):
    """models.py's pooling loads MSD_vgg's weights without complaint, and is wrong."""
    ref = reference("MSD_vgg")
    wrong = mn.build_vgg(mn.MTT_VGG_POOLS, "MSD_vgg")
    mn.load_weights(wrong, prefixes["MSD_vgg"])
    off = np.abs(wrong.predict_on_batch(ref["batch"])["taggram"] - ref["taggram"]).max()
    assert off > 0.05


def test_mtt_musicnn_gives_the_published_top10(outputs):
    mean = outputs["MTT_musicnn"]["taggram"].mean(axis=0)
    top = [mn.MODELS["MTT_musicnn"].tags[i] for i in np.argsort(-mean)[:10]]
    assert top == ["techno", "electronic", "synth", "fast", "beat", "drums", "no vocals",
                   "no vocal", "dance", "ambient"]


# --- front end ---------------------------------------------------------------------------------

def test_front_end_reproduces_the_reference_batch():
    from tagbench.features.audio import load_audio

    if not CLIP.is_file():
        pytest.fail(f"{CLIP} missing: the reference folder shared/ belongs beside the repository")
    got = mf.waveform_to_patches(load_audio(CLIP, "soxr_hq"))
    ref = reference("MTT_musicnn")["batch"]
    assert got.shape == ref.shape == (9, 187, 96) and got.dtype == np.float32
    diff = np.abs(got - ref).max()
    print(f"front end vs reference batch: max abs {diff:.3g}")
    assert diff <= ABS_TOL  # without musicnn's float16 storage of the power it is 2.1e-4


def test_short_clips_are_zero_padded_to_one_patch():
    rng = np.random.default_rng(1)
    short = rng.uniform(-0.5, 0.5, 16000).astype(np.float32)  # 1 s
    got = mf.waveform_to_patches(short)
    assert got.shape == (1, 187, 96)
    padded = np.concatenate([short, np.zeros(mf.PATCH_SAMPLES - len(short), np.float32)])
    np.testing.assert_array_equal(got, mf.patches(mf.log_mel(padded)))
    assert len(mf.log_mel(np.zeros(mf.PATCH_SAMPLES - 1))) == 186  # one sample short: no patch
    assert mf.patches(mf.log_mel(np.zeros(mf.PATCH_SAMPLES - 1))).shape == (0, 187, 96)


def test_patches_hop_and_tail():
    logmel = np.arange(500 * 96, dtype=np.float32).reshape(500, 96)
    assert mf.patches(logmel).shape == (2, 187, 96)           # 374 frames used, tail dropped
    np.testing.assert_array_equal(mf.patches(logmel)[1], logmel[187:374])
    overlapping = mf.patches(logmel, step=93)
    assert overlapping.shape == (4, 187, 96)                  # starts 0, 93, 186, 279
    np.testing.assert_array_equal(overlapping[3], logmel[279:466])


def test_loud_input_stays_finite_and_distinct(pretrained):
    """musicnn's own log under NumPy 2 is float16 and overflows; ours is finite and distinct."""
    import librosa

    rng = np.random.default_rng(2)
    t = np.arange(4 * mf.PATCH_FRAMES * mf.HOP) / mf.SAMPLE_RATE  # 4 patches
    loud = (np.sign(np.sin(2 * np.pi * 110 * t * (1 + t))) * 0.9
            + 0.1 * rng.standard_normal(t.size)).astype(np.float32)  # full-scale square chirp
    power = librosa.feature.melspectrogram(y=loud, sr=16000, n_fft=512, hop_length=256, n_mels=96)
    with np.errstate(over="ignore"):
        assert np.isinf(np.log10(10000 * power.astype(np.float16) + 1)).any()  # the trap is here
    for gain in (1.0, 1000.0):  # x1000: a power beyond float16's range as well
        got = mf.waveform_to_patches(loud * np.float32(gain))
        assert np.isfinite(got).all()
        assert len({p.tobytes() for p in got}) == len(got) == 4
    taggram = pretrained["MTT_musicnn"].predict_on_batch(mf.waveform_to_patches(loud))["taggram"]
    assert np.isfinite(taggram).all() and np.ptp(taggram, axis=0).max() > 1e-3


# --- the checkpoint loader ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def mtt_vgg_variables(prefixes):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefixes["MTT_vgg"]))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def test_loader_sets_every_weight_and_ignores_optimizer_slots(mtt_vgg_variables, pretrained):
    assert any(name.endswith("/Adam_1") for name in mtt_vgg_variables)
    net = mn.build("MTT_vgg")
    assert mn.assign_weights(net, mtt_vgg_variables) == len(net.weights) == 36
    for mine, theirs in zip(net.weights, pretrained["MTT_vgg"].weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_loader_refuses_a_missing_variable(mtt_vgg_variables):
    variables = dict(mtt_vgg_variables)
    del variables["batch_normalization_3/moving_variance"]
    with pytest.raises(DataError, match="variable batch_normalization_3/moving_variance .* missing"
                       ) as err:
        mn.assign_weights(mn.build("MTT_vgg"), variables, "ckpt")
    assert "\n" not in str(err.value)


def test_loader_refuses_an_unused_variable(mtt_vgg_variables):
    variables = {**mtt_vgg_variables, "6CNN/kernel": np.zeros((3, 3, 128, 128), np.float32),
                 "6CNN/kernel/Adam": np.zeros((3, 3, 128, 128), np.float32)}
    with pytest.raises(DataError, match=r"1 variable\(s\) .* does not use \(6CNN/kernel\)") as err:
        mn.assign_weights(mn.build("MTT_vgg"), variables, "ckpt")
    assert "\n" not in str(err.value)


def test_loader_refuses_other_shapes_and_architectures(mtt_vgg_variables, prefixes, tmp_path):
    variables = {**mtt_vgg_variables, "dense/kernel": np.zeros((128, 50), np.float32)}
    with pytest.raises(DataError, match=r"dense/kernel has shape \(128, 50\)"):
        mn.assign_weights(mn.build("MTT_vgg"), variables)
    with pytest.raises(DataError, match="missing: not a MSD_musicnn checkpoint"):
        mn.load_weights(mn.build("MSD_musicnn"), prefixes["MTT_vgg"])
    with pytest.raises(DataError, match="checkpoint not found"):
        mn.load_weights(mn.build("MTT_vgg"), tmp_path / "variables")


# --- the wheel: fetching and unpacking ---------------------------------------------------------

FAKE_FILES = {(model, suffix): f"fake {model} {suffix}".encode() * 100
              for model in mn.MODELS for suffix in mw.FILES}
FAKE_SHA = {model: {suffix: hashlib.sha256(FAKE_FILES[model, suffix]).hexdigest()
                    for suffix in mw.FILES} for model in mn.MODELS}


def fake_wheel(files=FAKE_FILES) -> bytes:
    """A small wheel pip accepts as musicnn 0.1.0, holding fake weight files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for (model, suffix), data in files.items():
            zf.writestr(f"musicnn/{model}/{suffix}", data)
        info = "musicnn-0.1.0.dist-info"
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: musicnn\nVersion: 0.1.0\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: tagbench-tests\n"
                                     "Root-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return buf.getvalue()


@pytest.fixture
def index_server():
    """FileServer serving a PEP 503 simple index (pip needs its pages typed text/html)."""
    from .http_server import FileServer

    server = FileServer()
    plain = server._httpd.RequestHandlerClass

    class TypedHandler(plain):
        def end_headers(self):
            if self.path.endswith("/") and self.path in server.files:
                self.send_header("Content-Type", "text/html")
            super().end_headers()

    server._httpd.RequestHandlerClass = TypedHandler
    with server:
        yield server


def serve_wheel(server, body: bytes) -> str:
    sha = hashlib.sha256(body).hexdigest()
    server.files[f"/files/{mw.WHEEL_NAME}"] = body
    server.files["/simple/musicnn/"] = (
        f'<html><body><a href="/files/{mw.WHEEL_NAME}#sha256={sha}">{mw.WHEEL_NAME}</a>'
        "</body></html>").encode()
    return sha


def test_fetch_wheel_from_a_simple_index_is_verified_and_idempotent(index_server, tmp_path):
    body = fake_wheel()
    sha = serve_wheel(index_server, body)
    wheel = mw.fetch_wheel(tmp_path, index_server.url + "/simple/", sha256=sha)
    assert wheel == tmp_path / mw.WHEEL_NAME and wheel.read_bytes() == body
    assert [p.name for p in tmp_path.iterdir()] == [mw.WHEEL_NAME]  # no download folder left
    requests = len(index_server.log)
    assert mw.fetch_wheel(tmp_path, index_server.url + "/simple/", sha256=sha) == wheel
    assert len(index_server.log) == requests  # already there: pip not run again


def test_fetch_wheel_refuses_a_wrong_checksum(index_server, tmp_path):
    serve_wheel(index_server, fake_wheel())
    with pytest.raises(DataError, match="downloaded wheel's sha256 .* is not the published 0{64}") as err:
        mw.fetch_wheel(tmp_path, index_server.url + "/simple/", sha256="0" * 64)
    assert "pip download --no-deps musicnn==0.1.0" in str(err.value) and "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []  # the bad download is not kept
    (tmp_path / mw.WHEEL_NAME).write_bytes(b"not the wheel")  # one placed by hand, wrongly
    with pytest.raises(DataError, match=f"{mw.WHEEL_NAME}: sha256 .* is not the published"):
        mw.fetch_wheel(tmp_path, index_server.url + "/simple/", sha256="0" * 64)
    assert (tmp_path / mw.WHEEL_NAME).read_bytes() == b"not the wheel"  # the user's file stays


def test_fetch_wheel_without_the_package_says_how_to_place_it(index_server, tmp_path):
    with pytest.raises(DataError, match="pip could not download musicnn==0.1.0") as err:
        mw.fetch_wheel(tmp_path / "musicnn", index_server.url + "/simple/")
    message = str(err.value)
    assert "\n" not in message and f"copy {mw.WHEEL_NAME} to {tmp_path / 'musicnn'}/" in message


def test_unpack_weights_writes_a_plain_prefix_and_checks_each_file(tmp_path):
    wheel = tmp_path / mw.WHEEL_NAME
    wheel.write_bytes(fake_wheel())
    prefix = mw.unpack_weights(wheel, tmp_path / "out", "MSD_vgg", checksums=FAKE_SHA)
    assert prefix == tmp_path / "out" / "MSD_vgg" / "variables"
    assert sorted(p.name for p in prefix.parent.iterdir()) == [
        "variables.data-00000-of-00001", "variables.index"]
    assert prefix.with_name("variables.index").read_bytes() == FAKE_FILES["MSD_vgg", ".index"]
    wheel.unlink()  # an intact earlier unpack needs no wheel
    assert mw.unpack_weights(wheel, tmp_path / "out", "MSD_vgg", checksums=FAKE_SHA) == prefix
    with pytest.raises(DataError, match="musicnn wheel not found: run `make setup`") as err:
        mw.unpack_weights(wheel, tmp_path / "out", "MTT_vgg", checksums=FAKE_SHA)
    assert "pip download --no-deps musicnn==0.1.0" in str(err.value)


def test_unpack_weights_refuses_an_altered_weight_file(tmp_path):
    altered = dict(FAKE_FILES)
    altered["MTT_musicnn", mw.DATA] = b"x" + altered["MTT_musicnn", mw.DATA][1:]
    wheel = tmp_path / mw.WHEEL_NAME
    wheel.write_bytes(fake_wheel(altered))
    with pytest.raises(DataError, match="musicnn/MTT_musicnn/.data-00000-of-00001 has sha256 .* "
                                        "the wheel was altered") as err:
        mw.unpack_weights(wheel, tmp_path / "out", "MTT_musicnn", checksums=FAKE_SHA)
    assert "\n" not in str(err.value)
    assert list((tmp_path / "out" / "MTT_musicnn").iterdir()) == []  # nothing half-written
    # an unpacked file altered later is replaced from an intact wheel
    wheel.write_bytes(fake_wheel())
    prefix = mw.unpack_weights(wheel, tmp_path / "out", "MTT_musicnn", checksums=FAKE_SHA)
    data = prefix.with_name("variables.data-00000-of-00001")
    data.write_bytes(b"tampered")
    mw.unpack_weights(wheel, tmp_path / "out", "MTT_musicnn", checksums=FAKE_SHA)
    assert data.read_bytes() == FAKE_FILES["MTT_musicnn", mw.DATA]


def test_main_fetch(wheel, tmp_path, capsys):
    assert mw.main(["fetch", str(wheel.parent)]) == 0  # verified in place, pip not run
    assert capsys.readouterr().out.strip() == str(wheel)
    (tmp_path / mw.WHEEL_NAME).write_bytes(b"wrong")
    assert mw.main(["fetch", str(tmp_path)]) == 2
    assert "tagbench: error:" in capsys.readouterr().err
    assert mw.main(["nonsense"]) == 2
