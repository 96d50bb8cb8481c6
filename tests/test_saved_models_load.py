"""Every ``.keras`` the package writes loads after ``import xwisenet_tf`` alone, in safe mode.

The models are written here (by `train` and by the weights importer) and loaded in a fresh
interpreter, which has registered nothing: this test process has imported the layers already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tests.training.conftest import (  # noqa: F401 - pytest finds fixtures by name
    SYNTHETIC_OPTIONS,
    synthetic_data_dir,
)

CLIP = (8, 32, 32, 3)
TINY = {"width": 0.5, "stage_repeats": (1, 1, 1)}


@pytest.fixture(scope="module")
def saved_models(synthetic_data_dir, tmp_path_factory) -> dict[str, str]:  # noqa: F811
    """``{"train": best.keras of a one-step run, "importer": an e3d state dict factorised into
    XwiseNet}``, each with ``<file>.npy``: its probabilities for `_clips` in this process."""
    from tests.weights.torch_names import export_state_dict
    from xwisenet_tf.models import get_model
    from xwisenet_tf.models.presets import resolve_spec
    from xwisenet_tf.training import TrainConfig, train
    from xwisenet_tf.weights import import_file

    directory = tmp_path_factory.mktemp("saved_models")
    config = TrainConfig(
        dataset="synthetic", data_dir=str(synthetic_data_dir),
        dataset_options=dict(SYNTHETIC_OPTIONS), model_dir=str(directory / "run"),
        model_overrides=dict(TINY), epochs=1, steps_per_epoch=1, batch_size=4,
        num_frames=CLIP[0], image_size=CLIP[1], validation="none", evaluate_test=False,
        verbose=0,
    )  # fmt: skip
    trained = train(config).last_checkpoint
    source = get_model("shufflenet3d-1.0x", 5, input_shape=CLIP, **TINY)
    state = export_state_dict(source, resolve_spec("shufflenet3d-1.0x", **TINY), "e3d")
    np.savez(directory / "e3d.npz", **state)
    imported = str(directory / "xwisenet.keras")
    import_file("e3d", "xwisenet", str(directory / "e3d.npz"), imported, None, CLIP, TINY)
    paths = {"train": trained, "importer": imported}
    for path in paths.values():
        model = keras.models.load_model(path)
        np.save(f"{path}.npy", model.predict(_clips(), verbose=0))
    return paths


def _clips() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(2, *CLIP)).astype("float32")


def _load_in_a_fresh_interpreter(first: str, paths: list[str]) -> dict:
    """Runs ``first`` (the imports), then loads each path with ``keras.models.load_model``
    (safe mode) and returns what TensorFlow had loaded before Keras and each largest
    difference from the probabilities saved beside the model."""
    load = textwrap.dedent(
        f"""
        import keras
        clips = np.random.default_rng(0).normal(size=(2, *{CLIP!r})).astype("float32")
        differences = {{}}
        for path in {paths!r}:
            model = keras.models.load_model(path)
            expected = np.load(path + ".npy")
            differences[path] = float(np.abs(model.predict(clips, verbose=0) - expected).max())
        print(json.dumps({{"heavy_after_import": heavy, "differences": differences}}))
        """
    )
    probe = f"import json, sys\nimport numpy as np\n{first}\n{load}"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_saved_models_load_after_importing_the_package(saved_models):
    """``import xwisenet_tf; keras.models.load_model(path)``: the package import loads no
    TensorFlow, and both models give the probabilities they gave when saved."""
    first = "import xwisenet_tf\nheavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]"
    result = _load_in_a_fresh_interpreter(first, list(saved_models.values()))
    assert result["heavy_after_import"] == []
    assert set(result["differences"]) == set(saved_models.values())
    assert max(result["differences"].values()) < 1e-5, result


def test_saved_models_load_when_tensorflow_came_first(saved_models):
    """TensorFlow (which loads Keras) imported before the package, or after it."""
    for first in (
        "import tensorflow\nimport xwisenet_tf\nheavy = []",
        "import xwisenet_tf\nimport tensorflow\nheavy = []",
    ):
        result = _load_in_a_fresh_interpreter(first, [saved_models["importer"]])
        assert max(result["differences"].values()) < 1e-5, (first, result)
