"""TensorFlow start-up for every verb that runs a model: threads, precision, determinism, quiet
start-up."""

from __future__ import annotations

import re

from .stderr_filter import held_stderr

# TensorFlow's C++ start-up notices on a machine without a GPU; they bypass
# TF_CPP_MIN_LOG_LEVEL and bury a one-line error.
_STARTUP_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|"
                            r"To enable the following instructions|"
                            r"[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cpu_feature_guard|"
                            r"cuda_platform|cuda_executor)\.cc)")


def configure_tensorflow(threads: int | None, mixed_precision: bool = False) -> list:
    """Thread pools, precision and op determinism; must run before TensorFlow builds anything.
    Returns the GPUs.

    Op determinism makes a run repeat bit for bit on the same machine and library versions
    (docs/statistics.md, "What reproduces"); its cost on CPU is in benchmarks/README.md."""
    with held_stderr(keep=lambda line: not _STARTUP_NOISE.match(line)):
        import keras
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:  # TensorFlow already running in this process (tests, notebooks)
            pass
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision else "float32")
    return gpus
