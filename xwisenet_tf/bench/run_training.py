"""Training steps of the side-by-side run: the cases trained in groups with the reference,
interleaved within each group (`xwisenet_tf.bench.run`)."""

from __future__ import annotations

from xwisenet_tf.bench import timing
from xwisenet_tf.bench.cases import Case
from xwisenet_tf.bench.measure import (
    Settings,
    build_model,
    random_clips,
    release_memory,
    training_call,
)


def train_groups(cases: list[Case], reference: str, size: int) -> list[list[Case]]:
    """Cases trained together: the reference with up to `size` base cases and their variants.

    Interleaving needs the models of a group alive together; all of them at once would not fit
    in memory. The reference is in every group, so every ratio to it is taken within a round.
    """
    ref = [c for c in cases if c.key == reference]
    bases = list(dict.fromkeys(c.base for c in cases if c.key != reference))
    groups = []
    for i in range(0, len(bases), max(size, 1)):
        chunk = bases[i : i + max(size, 1)]
        groups.append(ref + [c for c in cases if c.base in chunk and c.key != reference])
    return groups or [ref]


def time_training(cases: list[Case], settings: Settings, reference: str, log) -> dict:
    """Training steps, interleaved within groups; pooled times and within-group ratios."""
    clips = random_clips(settings, settings.train_batch, 2)
    pooled: dict[str, dict] = {}
    ratios: dict[str, dict] = {}
    groups = train_groups(cases, reference, settings.train_group)
    for i, group in enumerate(groups, 1):
        log(
            f"Training batch {settings.train_batch}, group {i}/{len(groups)} "
            f"({', '.join(c.key for c in group)}): {settings.train_rounds} rounds"
        )
        calls = {}
        for c in group:
            model = build_model(c, settings, inference=False)
            calls[c.key] = training_call(model, c, clips, settings.num_classes, settings.seed)
        timed = timing.interleave(calls, settings.train_rounds, 1, settings.train_warmup, log)
        del calls, model
        release_memory()
        for c in group:
            entry = pooled.setdefault(
                c.key, {"first_call_s": timed[c.key]["first_call_s"], "rounds": []}
            )
            entry["rounds"].extend(timed[c.key]["rounds"])
            if c.key != reference and reference in timed:
                # clips/s ratio = reference step time / this step time
                ratios.setdefault(c.key, {})["train_clips_vs_reference"] = timing.compare(
                    timed, reference, c.key
                )
            if c.variant and c.base in timed:
                ratios.setdefault(c.key, {})["train_time_vs_base"] = timing.compare(
                    timed, c.key, c.base
                )
    return {"train": pooled, "train_ratios": ratios}
