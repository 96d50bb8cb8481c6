"""The side-by-side run's oneDNN pass: Keras latency and training of a few cases again with
oneDNN on and off, one subprocess each (`xwisenet_tf.bench.runtime`)."""

from __future__ import annotations

from xwisenet_tf.bench.cases import INFER, QUICK_CASES, Case


def onednn_cases(cases: list[Case], reference: str, subject: str, keys: str = "") -> list[str]:
    """The cases of the oneDNN on/off pass: `keys` if given, else the run's base cases that are
    on the quick list (`QUICK_CASES`), and the reference."""
    if keys:
        return [k.strip() for k in keys.split(",") if k.strip()]
    run = [c.key for c in cases if not c.variant and c.does(INFER)]
    chosen = [k for k in run if k in QUICK_CASES or k in (reference, subject)]
    return chosen


def onednn_pass(cases, settings, reference, subject, machine, log) -> dict | None:
    """Keras latency and training with oneDNN on and off, one subprocess each
    (`xwisenet_tf.bench.runtime`, ``TF_ENABLE_ONEDNN_OPTS=1`` / ``=0``)."""
    from xwisenet_tf.bench.runtime import run_runtime

    keys = onednn_cases(cases, reference, subject, settings.onednn_cases)
    if not keys:
        return None
    log(f"oneDNN on and off, one subprocess each: {', '.join(keys)}")
    result = run_runtime(
        ["onednn-on", "onednn-off"], settings, subject, reference, repeats=1, log=log, cases=keys
    )
    return {
        "cpu": machine["cpu"],
        "avx512": machine.get("avx512"),
        "cases": keys,
        "configs": {
            name: {
                "env": result["configs"][name]["env"],
                "onednn": next((r.get("onednn") for r in runs if "error" not in r), None),
                **result["summary"][name],
            }
            for name, runs in result["runs"].items()
        },
    }
