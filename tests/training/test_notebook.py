"""The example notebook's code runs as written (with small settings): `XwiseNet(...)`,
`compile`, `fit` on `xwisenet_tf.data.load`, the sec. IV-C evaluation, save and predict."""

from __future__ import annotations

import nbformat

from tests.training.conftest import REPO, SYNTHETIC_OPTIONS, TINY_MODEL

NOTEBOOK = REPO / "examples" / "train_synthetic.ipynb"


def test_example_notebook_runs(synthetic_data_dir, tmp_path, monkeypatch, capsys):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert "parameters" in cells[0].metadata.get("tags", [])
    assert any("model.fit(" in c.source for c in cells)
    overrides = {
        "DATA_DIR": str(synthetic_data_dir),
        "OUTPUT_DIR": str(tmp_path / "out"),
        "NUM_FRAMES": 8,
        "IMAGE_SIZE": 32,
        "BATCH_SIZE": 4,
        "EPOCHS": 2,
        "STEPS_PER_EPOCH": 2,
        "SYNTHETIC_OPTIONS": dict(SYNTHETIC_OPTIONS),
        "MODEL_OPTIONS": dict(TINY_MODEL),
    }
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    exec(compile(cells[0].source, "parameters", "exec"), namespace)
    assert set(overrides) <= set(namespace)  # the parameters the notebook declares
    namespace.update(overrides)
    for index, cell in enumerate(cells[1:], start=1):
        exec(compile(cell.source, f"cell {index}", "exec"), namespace)
    assert len(namespace["history"].history["val_accuracy"]) == 2
    report = namespace["report"]
    assert report["num_videos"] == 6 and 0 <= report["video_accuracy"] <= 1
    assert (tmp_path / "out" / "xwisenet_synthetic.keras.json").is_file()
    assert "video accuracy:" in capsys.readouterr().out
