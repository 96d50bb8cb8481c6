"""The soak bench, short: models built, trained, evaluated and converted in turn keep no graph
of the ones before (`python -m xwisenet_tf.bench.soak` runs 20; docs/performance.md)."""

import pytest

from xwisenet_tf.bench import soak


def test_models_in_turn_keep_no_earlier_graph():
    result = soak.soak(models=2, steps=1, compare=1, tolerance_mb=1e9)
    assert len(result.rss_mb) == len(result.graphs) == 2
    assert all(rss > 0 for rss in result.rss_mb)
    # A leak of traced graphs kept two more per model (its training step, traced twice).
    assert result.graphs[-1] <= result.graphs[0], result.graphs
    assert result.passed and "after model 2" in result.summary()


def test_compare_must_name_one_of_the_models():
    with pytest.raises(ValueError, match="compare=4"):
        soak.soak(models=3, compare=4)
