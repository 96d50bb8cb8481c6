"""Issue 17, item 3: 3D-ResNet-18 from a state dict with Hara et al.'s names, shortcut A and B.

No torch: the state dict is written here from the layer list of 3D-ResNets-PyTorch
(`models/resnet.py`: `conv1`/`bn1`, `layer1`-`layer4` of `BasicBlock`s with `conv1`, `bn1`,
`conv2`, `bn2` and, for shortcut B, `downsample.0` (1x1x1 conv) / `downsample.1` (BN), and `fc`),
and one residual block is recomputed with NumPy the way PyTorch does it (NCTHW, `padding=1`).
"""

import keras
import numpy as np
import pytest

from xwisenet_tf.weights import build_pretrained

CLIP = (8, 32, 32, 3)
NUM_CLASSES = 7
PLANES = (64, 128, 256, 512)
BLOCKS_18 = (2, 2, 2, 2)


def _batch_norm(rng, name, channels):
    return {
        f"{name}.weight": rng.uniform(0.5, 1.5, channels),
        f"{name}.bias": rng.normal(0, 0.1, channels),
        f"{name}.running_mean": rng.normal(0, 0.1, channels),
        f"{name}.running_var": rng.uniform(0.5, 1.5, channels),
        f"{name}.num_batches_tracked": np.array(10),
    }


def _conv(rng, out, inp, k):
    return rng.normal(0, np.sqrt(2.0 / (inp * k**3)), (out, inp, k, k, k))


def hara_resnet18_state(shortcut: str, seed: int = 0) -> dict[str, np.ndarray]:
    """A `resnet18(shortcut_type=...)` state dict of 3D-ResNets-PyTorch, random values."""
    rng = np.random.default_rng(seed)
    state = {"conv1.weight": _conv(rng, 64, 3, 7), **_batch_norm(rng, "bn1", 64)}
    inplanes = 64
    for layer, (planes, blocks) in enumerate(zip(PLANES, BLOCKS_18, strict=True), start=1):
        for block in range(blocks):
            name = f"layer{layer}.{block}"
            state[f"{name}.conv1.weight"] = _conv(rng, planes, inplanes, 3)
            state.update(_batch_norm(rng, f"{name}.bn1", planes))
            state[f"{name}.conv2.weight"] = _conv(rng, planes, planes, 3)
            state.update(_batch_norm(rng, f"{name}.bn2", planes))
            if block == 0 and layer > 1 and shortcut == "B":  # stride 2: a projection
                state[f"{name}.downsample.0.weight"] = _conv(rng, planes, inplanes, 1)
                state.update(_batch_norm(rng, f"{name}.downsample.1", planes))
            inplanes = planes
    state["fc.weight"] = rng.normal(0, 0.05, (NUM_CLASSES, 512))
    state["fc.bias"] = rng.normal(0, 0.05, NUM_CLASSES)
    return {
        k: np.asarray(v, "float32" if v.dtype.kind == "f" else v.dtype) for k, v in state.items()
    }


def _conv_ncthw(x, w, stride):
    """PyTorch's `F.conv3d(x, w, stride=stride, padding=(k - 1) // 2)`, NCTHW, no bias."""
    k = w.shape[2]
    p = (k - 1) // 2
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p), (p, p)))
    _, _, t, h, ww = x.shape
    ot, oh, ow = (t - k) // stride + 1, (h - k) // stride + 1, (ww - k) // stride + 1
    out = 0.0
    for i in range(k):
        for j in range(k):
            for m in range(k):
                patch = x[:, :, i : i + ot * stride : stride, j : j + oh * stride : stride]
                patch = patch[..., m : m + ow * stride : stride]
                out = out + np.einsum("nctHW,oc->notHW", patch, w[:, :, i, j, m])
    return out


def _bn_ncthw(x, state, name, eps=1e-5):
    shape = (1, -1, 1, 1, 1)
    scale = state[f"{name}.weight"] / np.sqrt(state[f"{name}.running_var"] + eps)
    return (x - state[f"{name}.running_mean"].reshape(shape)) * scale.reshape(shape) + state[
        f"{name}.bias"
    ].reshape(shape)


def basic_block_ncthw(x, state, name, stride, shortcut):
    """Hara's `BasicBlock.forward` in eval mode, in NumPy."""
    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    out = relu(
        _bn_ncthw(_conv_ncthw(x, state[f"{name}.conv1.weight"], stride), state, f"{name}.bn1")
    )
    out = _bn_ncthw(_conv_ncthw(out, state[f"{name}.conv2.weight"], 1), state, f"{name}.bn2")
    planes = out.shape[1]
    if shortcut == "B":
        residual = _conv_ncthw(x, state[f"{name}.downsample.0.weight"], stride)
        residual = _bn_ncthw(residual, state, f"{name}.downsample.1")
    else:  # downsample_basic_block: avg_pool3d(kernel_size=1, stride), then zero channels
        residual = x[:, :, ::stride, ::stride, ::stride]
        zeros = np.zeros((x.shape[0], planes - x.shape[1], *residual.shape[2:]), x.dtype)
        residual = np.concatenate([residual, zeros], axis=1)
    return relu(out + residual)


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_hara_names_map_with_the_shortcut_read_from_the_state_dict(shortcut):
    state = hara_resnet18_state(shortcut)
    model, report = build_pretrained("hara", "resnet3d-18", state, input_shape=CLIP)
    assert report.overrides == {"shortcut": shortcut} and report.head_imported
    assert report.tensors == len([n for n in state if not n.endswith("num_batches_tracked")])
    assert report.num_classes == NUM_CLASSES
    has_projection = any(
        layer.name == "stage2_unit1_shortcut" and layer.weights for layer in model.layers
    )
    assert has_projection == (shortcut == "B")
    kernel = np.asarray(model.get_layer("stage3_unit1_conv1").convs[0].kernel)
    np.testing.assert_array_equal(
        kernel, np.transpose(state["layer3.0.conv1.weight"], (2, 3, 4, 1, 0))
    )
    np.testing.assert_array_equal(
        np.asarray(model.get_layer("predictions").kernel), state["fc.weight"].T
    )


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_one_residual_block_matches_pytorchs_computation(shortcut, rng):
    state = hara_resnet18_state(shortcut, seed=1)
    model, _ = build_pretrained("hara", "resnet3d-18", state, input_shape=CLIP)
    # The strided first block of stage 2 (layer2.0): padding, stride and shortcut all matter.
    probe = keras.Model(
        model.input,
        [model.get_layer("stage1_unit2_relu").output, model.get_layer("stage2_unit1_relu").output],
    )
    x = rng.uniform(0, 1, (2, *CLIP)).astype("float32")
    block_in, block_out = (np.asarray(v) for v in probe(x, training=False))
    expected = basic_block_ncthw(
        np.transpose(block_in, (0, 4, 1, 2, 3)), state, "layer2.0", 2, shortcut
    )
    np.testing.assert_allclose(
        block_out, np.transpose(expected, (0, 2, 3, 4, 1)), atol=1e-4, rtol=1e-4
    )


def test_a_resnet34_state_dict_does_not_fit_resnet18():
    state = hara_resnet18_state("A")
    state["layer1.2.conv1.weight"] = state["layer1.1.conv1.weight"]  # a third block, as in 34
    with pytest.raises(ValueError, match=r"(?s)no place in the model.*layer1\.2\.conv1\.weight"):
        build_pretrained("hara", "resnet3d-18", state, input_shape=CLIP)
