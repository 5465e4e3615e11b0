"""A deterministic fake of the published vggish_model.ckpt (TF1 V1 single-file checkpoint).

Follows the recipe of tests/data/README.md (seeded values, the 18 official variables in their
official order), so the network outputs in tests/data/fake_ckpt_expected.npz apply to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SEED = 20261123
VARS = Path(__file__).parent / "data" / "vggish_ckpt_vars.json"


def variables() -> list[tuple[str, tuple[int, ...]]]:
    spec = json.loads(VARS.read_text())["variables"]
    return [(v["name"], tuple(v["shape"])) for v in spec]


def values(seed: int = SEED) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    out = {}
    for name, shape in variables():
        if name.endswith("weights"):
            scale = np.sqrt(2.0 / int(np.prod(shape[:-1])))  # He: fan_in = all dims but the last
        else:
            scale = 0.1
        out[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
    return out


def write(path: Path, seed: int = SEED) -> Path:
    import tensorflow.compat.v1 as tf1

    path.parent.mkdir(parents=True, exist_ok=True)
    with tf1.Graph().as_default():
        assigns, feeds, tvars = [], {}, []
        for name, val in values(seed).items():
            var = tf1.get_variable(name, shape=val.shape, dtype=tf1.float32,
                                   initializer=tf1.zeros_initializer())
            ph = tf1.placeholder(tf1.float32, shape=val.shape)
            assigns.append(var.assign(ph))
            feeds[ph] = val
            tvars.append(var)
        saver = tf1.train.Saver(tvars, write_version=tf1.train.SaverDef.V1)
        with tf1.Session() as sess:
            sess.run(assigns, feed_dict=feeds)
            saver.save(sess, str(path), write_meta_graph=False, write_state=False)
    return path
