"""The package root and the data path's command line load neither TensorFlow nor Keras.

Each check runs in a fresh interpreter: this test process has imported TensorFlow already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("tensorflow", "keras")


def _loaded_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = textwrap.dedent(code) + (
        f"\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import xwisenet_tf",
        "import xwisenet_tf.data",
        "import xwisenet_tf.prediction; xwisenet_tf.prediction.__all__",
        "from xwisenet_tf.prediction import annotate_video, Overlay, VideoWriter",
        "import xwisenet_tf; xwisenet_tf.data.read_manifest; xwisenet_tf.__version__",
        "import xwisenet_tf.streaming, xwisenet_tf.training, xwisenet_tf.export",
        # train.py checks its flags (the preset name too) before TensorFlow loads.
        """
        from xwisenet_tf.models.presets import PRESETS
        from xwisenet_tf.training.config import TrainConfig
        TrainConfig(model="xwisenet-stream").validate()
        assert "xwisenet-stream" in PRESETS
        """,
        """
        from xwisenet_tf.data import prepare
        try:
            prepare.main(["--help"])
        except SystemExit as e:
            assert e.code == 0
        """,
    ],
)
def test_light_imports(code):
    assert _loaded_after(code) == []


def test_lazy_attributes_load_on_first_use():
    """The root's names still work; using a model is what loads TensorFlow."""
    loaded = _loaded_after(
        """
        import xwisenet_tf
        assert callable(xwisenet_tf.data.load)
        assert xwisenet_tf.get_model is xwisenet_tf.models.get_model
        assert "xwisenet" in xwisenet_tf.list_models()
        assert xwisenet_tf.layers.XwiseConv3D.__name__ == "XwiseConv3D"
        model = xwisenet_tf.XwiseNet(num_classes=6, input_shape=(8, 32, 32, 3), width=0.5)
        assert model.output_shape == (None, 6), model.output_shape
        """
    )
    assert loaded == list(HEAVY)


def test_unknown_attribute_is_an_attribute_error():
    import xwisenet_tf

    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        xwisenet_tf.nonexistent  # noqa: B018
    assert {"data", "layers", "models", "get_model", "XwiseNet"} <= set(dir(xwisenet_tf))
