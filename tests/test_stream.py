import numpy as np

from tagbench.features.shards import FeatureStore, ShardWriter
from tagbench.models.stream import batch_stream, steps_per_epoch
from tagbench.settings.config import FeatureSettings

from .conftest import labelled_store


def test_batches_have_shapes_and_aligned_labels(tmp_path):
    store, labels = labelled_store(tmp_path)
    stream = batch_stream(store, batch_size=32, n_active=5, seed=1)
    seen = set()
    for _ in range(20):
        x, y = next(stream)
        assert x.shape == (32, 96, 64) and x.dtype == np.float32
        assert y.shape == (32, 4)
        for patch, lab in zip(x, y, strict=True):
            k = int(patch[0, 0])
            assert (patch == k).all()  # a window never spans two clips
            assert (lab == labels[k]).all()
            seen.add(k)
    assert len(seen) > 15  # the mux really mixes clips


def test_stream_is_reproducible_from_its_seed(tmp_path):
    store, _ = labelled_store(tmp_path)
    a = [next(batch_stream(store, 8, 4, seed=3))[0][:, 0, 0] for _ in range(1)]
    b = [next(batch_stream(store, 8, 4, seed=3))[0][:, 0, 0] for _ in range(1)]
    assert np.array_equal(a, b)


def test_steps_per_epoch_come_from_the_clip_count():
    assert steps_per_epoch(19_000, 32) == 594
    assert steps_per_epoch(100, 32, patches_per_clip=12) == 38
    assert steps_per_epoch(1, 32) == 1


def test_a_stream_is_a_function_of_its_seed(tmp_path):
    store, _ = labelled_store(tmp_path)

    def first_batches(seed):
        stream = batch_stream(store, batch_size=32, n_active=5, seed=seed)
        return np.concatenate([next(stream)[0][:, 0, 0] for _ in range(5)])

    assert np.array_equal(first_batches(1), first_batches(1))
    assert not np.array_equal(first_batches(1), first_batches(2))


def test_an_epochs_batches_do_not_depend_on_where_training_started(tmp_path):
    """What makes a resumed run equal an uninterrupted one: epoch e's batches are a function of
    (seed, e) alone."""
    from itertools import islice

    from tagbench.models.stream import epoch_batches

    store, _ = labelled_store(tmp_path)
    steps = 3
    from_start = list(islice(epoch_batches(store, 8, 4, seed=5, steps=steps), 2 * steps))
    resumed = list(islice(epoch_batches(store, 8, 4, seed=5, steps=steps, first_epoch=1), steps))
    for (xa, ya), (xb, yb) in zip(from_start[steps:], resumed, strict=True):
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not np.array_equal(from_start[0][0], from_start[steps][0])  # epochs differ


def test_windows_are_drawn_uniformly_across_clips_and_activations(tmp_path):
    """Every window position is drawn about equally often. The mux re-activates a clip many
    times an epoch, and each activation must continue one shared random sequence: a copy of it
    per activation replays the same few positions for every clip."""
    n_clips, frames, length = 30, 96, 196  # 101 window positions per clip
    with ShardWriter(tmp_path / "000.h5", ["t"], FeatureSettings(dtype="float32")) as w:
        for k in range(n_clips):
            mel = np.zeros((length, 64), np.float32)
            mel[:, 0] = np.arange(length)  # a window's first frame names its position
            w.add(str(k), f"{k}.mp3", np.array([k % 2], np.uint8), mel)
    stream = batch_stream(FeatureStore([tmp_path / "000.h5"]), batch_size=32, n_active=5, seed=0)
    starts = np.concatenate([next(stream)[0][:, 0, 0] for _ in range(200)]).astype(int)
    counts = np.bincount(starts, minlength=length - frames + 1)
    expected = len(starts) / len(counts)  # ~63 per position
    assert len(counts) == length - frames + 1 and (counts > 0).all()
    assert counts.max() < 2 * expected and counts.min() > expected / 2


def test_a_clips_streamer_gets_the_store_itself_not_a_copy(tmp_path):
    """pescador deep-copies a streamer's arguments at each activation: a copied store copied
    every clip's index and reopened its files, most of the stream's time."""
    store, _ = labelled_store(tmp_path)

    class NoCopies(type(store)):
        def __deepcopy__(self, memo):
            raise AssertionError("the store was copied")

    store.__class__ = NoCopies
    stream = batch_stream(store, batch_size=8, n_active=4, seed=0)
    assert all(next(stream)[0].shape == (8, 96, 64) for _ in range(20))
