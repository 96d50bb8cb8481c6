"""The one LiteRT runner: quantised I/O and the builtin-kernel fallback when XNNPACK refuses."""

from __future__ import annotations

import numpy as np
import pytest

from xwisenet_tf.tflite_runner import XNNPACK, TFLiteRunner


@pytest.fixture(scope="module")
def dense_tflite() -> tuple[bytes, np.ndarray, np.ndarray]:
    """A float TFLite model, an input and the Keras model's output for it."""
    import keras

    from xwisenet_tf.export import convert_to_tflite

    inputs = keras.Input((2, 4, 4, 3), name="clips")
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4, 3)).astype("float32")
    return convert_to_tflite(model), x, np.asarray(model(x))


def test_runs_a_model_like_keras(dense_tflite, tmp_path):
    content, x, expected = dense_tflite
    runner = TFLiteRunner(content, num_threads=1)
    assert runner.delegate == XNNPACK
    np.testing.assert_allclose(runner(x), expected[0], atol=1e-5)
    path = tmp_path / "m.tflite"
    path.write_bytes(content)
    np.testing.assert_allclose(TFLiteRunner(path=path)(x[0]), expected[0], atol=1e-5)
    with pytest.raises(TypeError):
        TFLiteRunner(content, path=path)


def test_falls_back_to_builtin_kernels_when_xnnpack_refuses(dense_tflite, monkeypatch):
    content, x, expected = dense_tflite
    build = TFLiteRunner._build

    def refusing(self, builtin_only=False):
        if not builtin_only:
            raise RuntimeError("failed to create XNNPACK runtime: ADD node 3")
        return build(self, builtin_only=True)

    monkeypatch.setattr(TFLiteRunner, "_build", refusing)
    with pytest.raises(RuntimeError, match="XNNPACK"):
        TFLiteRunner(content)
    runner = TFLiteRunner(content, num_threads=1, fallback=True)
    assert runner.delegate == "builtin kernels (XNNPACK failed: : ADD node 3)"
    np.testing.assert_allclose(runner(x), expected[0], atol=1e-5)
