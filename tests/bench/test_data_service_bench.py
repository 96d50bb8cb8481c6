"""``python -m xwisenet_tf.bench.data_service`` runs on a tiny configuration: a dispatcher here,
one worker process, the local and the service pipeline, a training step (timings not checked)."""

from __future__ import annotations

import re

from tests.data.conftest import write_known_dataset


def test_data_service_bench_runs_on_a_tiny_config(tmp_path, capsys):
    from xwisenet_tf.bench import data_service

    prepared = write_known_dataset(tmp_path / "prepared", [12, 20, 9, 16])
    data_service.main(
        ["--data", str(prepared), "--workers", "1", "--model", "xwisenet-small",
         "--batch_size", "2", "--num_frames", "4", "--image_size", "32", "--warmup", "1",
         "--rounds", "1", "--batches", "1", "--model_steps", "1"]
    )  # fmt: skip
    out = capsys.readouterr().out
    for label in ("input pipeline, local:", "input pipeline, tf.data service:", "training step:"):
        assert re.search(re.escape(label) + r"\s+\d+\.\d clips/s", out), out
    assert "ratio service / local:" in out
