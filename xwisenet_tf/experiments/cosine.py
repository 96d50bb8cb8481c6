"""Table I: average cosine similarity between frame features, paper eq. (1).

``avg_cos_sim = 1/N^2 sum_i sum_j cos(T_i, T_j)`` over the N frames of a clip, i = j included
(so identical frames give 1 and mutually orthogonal frames give 1/N). The paper measures it on
the input, the sequence-specific context and the output of an SS block in a trained model, and
reads a lower value at the output as frames that are easier to tell apart.

The paper does not say which block, which clips or how a frame's feature vector is formed. Our
reading: every SS block of the model, every test clip (recognition protocol clips, sec. IV-C),
averaged over clips; a frame's feature is the whole ``H x W x C`` map of that frame flattened
(``reduce="flatten"``; ``"mean"`` averages over H x W first); the context is already one
``C``-vector per frame.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

FEATURES = ("input", "context", "output")
REDUCTIONS = ("flatten", "mean")


def average_cosine_similarity(features, eps: float = 1e-12) -> np.ndarray | float:
    """Average cosine similarity of frame features, eq. (1).

    A frame whose feature is all zeros has no direction: its cosine with any frame counts as 0.

    Args:
        features: ``(N, D)`` for one clip (N frames, D-dimensional features) or
            ``(..., N, D)`` for a batch of clips.
        eps: Norms below this are treated as zero.

    Returns:
        A float for one clip, else an array of shape ``features.shape[:-2]``.

    Raises:
        ValueError: fewer than 2 dimensions or no frame.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim < 2 or x.shape[-2] < 1:
        raise ValueError(
            f"features must have shape (..., N, D) with N >= 1 frames; received {x.shape}"
        )
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    unit = np.where(norms > eps, x / np.maximum(norms, eps), 0.0)
    # sum_ij cos(T_i, T_j) = ||sum_i T_i / ||T_i|| ||^2
    total = np.sum(unit, axis=-2)
    value = np.sum(total * total, axis=-1) / x.shape[-2] ** 2
    return float(value) if np.ndim(value) == 0 else value


def frame_features(x, reduce: str = "flatten") -> np.ndarray:
    """Per-frame feature vectors of a 5-D feature map.

    Args:
        x: ``(batch, T, H, W, C)`` features, or ``(batch, T, C)`` (returned as is).
        reduce: ``"flatten"`` -> ``(batch, T, H*W*C)``; ``"mean"`` -> ``(batch, T, C)``.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {list(REDUCTIONS)}; received {reduce!r}")
    x = np.asarray(x)
    if x.ndim == 3:
        return x
    if x.ndim != 5:
        raise ValueError(f"expected (batch, T, H, W, C) or (batch, T, C); received {x.shape}")
    if reduce == "mean":
        return x.mean(axis=(2, 3))
    return x.reshape(x.shape[0], x.shape[1], -1)


def ss_blocks(model) -> list:
    """The SS blocks of ``model`` in graph order."""
    from xwisenet_tf.layers import SSBlock

    return [layer for layer in model.layers if isinstance(layer, SSBlock)]


class SSProbe:
    """Input, context and output of each SS block of a model, for a batch of clips.

    One sub-model returns every SS block's input; each block's context (`SSBlock.context`) and
    output are then computed from it with the block's own weights.
    """

    def __init__(self, model, block_names: list[str] | None = None):
        import keras

        blocks = ss_blocks(model)
        if block_names is not None:
            missing = sorted(set(block_names) - {b.name for b in blocks})
            if missing:
                raise ValueError(
                    f"model {model.name!r} has no SS block named {missing}; its SS blocks: "
                    f"{[b.name for b in blocks]}"
                )
            blocks = [b for b in blocks if b.name in block_names]
        if not blocks:
            raise ValueError(f"model {model.name!r} has no SS block (Table I needs one)")
        self.blocks = blocks
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        self.inputs_model = keras.Model(inputs, [b.input for b in blocks])

    def __call__(self, clips) -> dict[str, dict[str, np.ndarray]]:
        """``{block: {"input": x, "context": (batch, T, C), "output": y}}`` as NumPy arrays."""
        from keras import ops

        inputs = self.inputs_model(clips, training=False)
        if not isinstance(inputs, list | tuple):
            inputs = [inputs]
        result = {}
        for block, x in zip(self.blocks, inputs, strict=True):
            result[block.name] = {
                "input": ops.convert_to_numpy(x),
                "context": ops.convert_to_numpy(block.context(x)),
                "output": ops.convert_to_numpy(block(x)),
            }
        return result


def measure_similarity(
    model,
    clips,
    reduce: str = "flatten",
    block_names: list[str] | None = None,
) -> dict[str, Any]:
    """Table I for ``model`` on ``clips``: eq. (1) of every SS block's input, context, output.

    Args:
        model: A model with SS blocks (e.g. a trained ``xwisenet``).
        clips: An iterable of clip batches ``(batch, T, H, W, 3)`` (or ``(clips, ...)`` tuples,
            as datasets yield them).
        reduce: Frame feature of a 5-D map (`frame_features`).
        block_names: Only these blocks (default: all SS blocks).

    Returns:
        ``{"blocks": {name: {"input", "context", "output"}}, "mean": {...}, "num_clips",
        "reduce"}``: per block the similarity averaged over clips; ``mean`` averages the
        blocks.
    """
    probe = SSProbe(model, block_names)
    sums = {b.name: dict.fromkeys(FEATURES, 0.0) for b in probe.blocks}
    count = 0
    for batch in clips:
        if isinstance(batch, tuple | list):
            batch = batch[0]
        features = probe(batch)
        for name, parts in features.items():
            for part in FEATURES:
                sims = average_cosine_similarity(frame_features(parts[part], reduce))
                sums[name][part] += float(np.sum(sims))
        count += int(np.shape(batch)[0])
    if not count:
        raise ValueError("no clip to measure")
    blocks = {name: {p: v / count for p, v in parts.items()} for name, parts in sums.items()}
    mean = {p: float(np.mean([blocks[n][p] for n in blocks])) for p in FEATURES}
    return {"blocks": blocks, "mean": mean, "num_clips": count, "reduce": reduce}


def measure_checkpoint(
    checkpoint: str | os.PathLike,
    data_dir: str | os.PathLike,
    split: str = "test",
    batch_size: int = 8,
    max_clips: int | None = None,
    frame_stride: int = 1,
    reduce: str = "flatten",
) -> dict[str, Any]:
    """Table I for a trained checkpoint on the recognition clips (sec. IV-C) of a split.

    Args:
        checkpoint: A ``.keras`` file of a model with SS blocks.
        data_dir: Prepared dataset directory (with ``manifest.json``).
        split: Split whose clips are used.
        batch_size: Clips per forward pass.
        max_clips: Use at most this many clips (in record order); default all.
        frame_stride: Step between sampled frames (as in training).
        reduce: Frame feature of a 5-D map (`frame_features`).
    """
    from xwisenet_tf.training import load_checkpoint
    from xwisenet_tf.training.evaluation import model_input
    from xwisenet_tf.training.protocol import recognition_clips

    model = load_checkpoint(checkpoint)
    num_frames, image_size = model_input(model)
    dataset = recognition_clips(data_dir, split, num_frames, image_size, batch_size, frame_stride)
    if max_clips:
        dataset = dataset.unbatch().take(max_clips).batch(batch_size)
    result = measure_similarity(model, (clips for clips, _ in dataset), reduce)
    result.update(checkpoint=os.path.abspath(checkpoint), split=split)
    return result
