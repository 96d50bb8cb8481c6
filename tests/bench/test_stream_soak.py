"""The long-stream bench, short: a few hundred generated frames through `StreamingRecognizer`
in Keras and TFLite (``python -m xwisenet_tf.bench.stream_soak`` runs 90,000; README, "Live and
streaming")."""

import json

import pytest

from xwisenet_tf.bench import stream_soak


@pytest.mark.parametrize("backend", stream_soak.BACKENDS)
def test_a_short_stream_reports_memory_and_latency(backend):
    result = stream_soak.stream_soak(
        frames=250, half_life=8, backend=backend, window=100, tolerance_mb=1e9
    )
    assert result.frames == 250 and result.half_life == 8.0 and result.backend == backend
    assert len(result.rss_mb) == 3 and all(rss > 0 for rss in result.rss_mb)  # 100, 200, 250
    assert result.first_ms > 0 and result.last_ms > 0
    assert "250 frames" in result.summary() and "half-life 8" in result.summary()


def test_the_command_writes_its_result(tmp_path, capsys):
    output = tmp_path / "soak.json"
    code = stream_soak.main(
        [
            "--frames=120",
            "--window=50",
            "--half_life=0",
            "--tolerance_mb=1e9",
            "--latency_tolerance=100",
            f"--output={output}",
        ]
    )
    record = json.loads(output.read_text())
    assert code == 0 and record["passed"] and record["half_life"] is None
    assert record["frames"] == 120 and "cumulative" in capsys.readouterr().out


def test_window_must_fit_twice():
    with pytest.raises(ValueError, match="window=60"):
        stream_soak.stream_soak(frames=100, window=60)
