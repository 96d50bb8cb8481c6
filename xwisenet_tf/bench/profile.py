"""Where the time goes: TensorFlow-profiler op times, per op type and per layer kind.

For each case, a batch-1 inference call and a training step run under
`tf.profiler.experimental.start/stop`; the XSpace it writes (`*.xplane.pb`) is parsed and the
durations of the op events on the executor threads (`tf_Compute*` lines) are summed:

- per op type (`_MklNativeFusedConv2D`, `_MklTranspose`, `ConcatV2`, ...);
- per layer kind (pointwise conv, depthwise spatial/temporal conv, SS block, channel
  shuffle/split/concat, BatchNorm, ...), from the layer name in the op's name scope, with the
  kind's MACs and the GMAC/s it achieved;
- per pass in training (forward, backward = ops under `gradient_tape/`, optimizer, loss).

Each op's time is its median over the profiled calls (robust to a descheduled thread on a
shared machine). Op times are summed over the executor threads, so their total can exceed the
wall time when ops run in parallel; shares (%) are of that total.
"""

from __future__ import annotations

import collections
import glob
import json
import os
import re
import shutil
import statistics
import tempfile
import time

from xwisenet_tf.bench import timing
from xwisenet_tf.bench.cases import parse_case
from xwisenet_tf.bench.measure import (
    Settings,
    build_model,
    inference_call,
    random_clips,
    training_call,
)

# Op types that only move data (no arithmetic): copies the architecture asks for.
DATA_MOVEMENT = {
    "Transpose",
    "_MklTranspose",
    "ConcatV2",
    "_MklConcatV2",
    "Split",
    "SplitV",
    "StridedSlice",
    "StridedSliceGrad",
    "Slice",
    "Pad",
    "PadV2",
    "Pack",
    "Unpack",
    "Tile",
    "GatherV2",
}
_SUFFIX = re.compile(r"_\d+$")


def layer_kinds(model) -> tuple[dict[str, str], dict[str, int]]:
    """Maps every layer name (top-level and inside conv stacks / blocks) to a kind, and
    every kind to its MACs for one clip."""
    import keras

    from xwisenet_tf.layers import (
        BatchNorm,
        ChannelShuffle,
        ChannelSplit,
        ConvBNStack,
        DepthwiseConv3D,
        FoldedConv3D,
        FoldedMaxPool3D,
        ZeroPadShortcut,
        layer_macs,
    )
    from xwisenet_tf.layers.shuffle import ChannelShuffleSplit

    def conv_kind(layer) -> str:
        d, kh, kw = layer.kernel_size
        prefix = "depthwise" if isinstance(layer, DepthwiseConv3D) else "dense"
        if layer.name.startswith("stem"):
            return "stem conv"
        if layer.name.startswith("head"):
            return "head conv 1x1x1"
        if (d, kh, kw) == (1, 1, 1):
            return "pointwise conv 1x1x1"
        if d == 1:
            return f"{prefix} spatial conv 1x{kh}x{kw}"
        if (kh, kw) == (1, 1):
            return f"{prefix} temporal conv {d}x1x1"
        return f"{prefix} 3D conv {d}x{kh}x{kw}"

    def top_kind(layer) -> str:
        if isinstance(layer, ConvBNStack):
            return "ReLU in conv stacks"
        if isinstance(layer, ChannelShuffle | ChannelShuffleSplit):
            return "channel shuffle"
        if isinstance(layer, ChannelSplit):
            return "channel split"
        if isinstance(layer, keras.layers.Concatenate):
            return "concat"
        if isinstance(layer, FoldedMaxPool3D):
            return "max pool"
        if isinstance(layer, ZeroPadShortcut):
            return "shortcut"
        if isinstance(layer, keras.layers.Add | keras.layers.ReLU):
            return "residual add + ReLU"
        if isinstance(layer, FoldedConv3D | DepthwiseConv3D):
            return conv_kind(layer)
        if isinstance(layer, keras.layers.GlobalAveragePooling3D | keras.layers.Dropout):
            return "head pool, dropout, classifier"
        if isinstance(layer, keras.layers.Dense):
            return "head pool, dropout, classifier"
        if isinstance(layer, keras.layers.InputLayer):
            return "input"
        return f"context block ({type(layer).__name__})"

    kinds: dict[str, str] = {}
    macs: dict[str, int] = collections.Counter()
    for layer in model.layers:
        kind = top_kind(layer)
        kinds[layer.name] = kind
        if isinstance(layer, keras.layers.InputLayer) or isinstance(layer.input, list | tuple):
            continue
        shape = (1, *layer.input.shape[1:])
        if isinstance(layer, ConvBNStack):
            for i, conv in enumerate(layer.convs):
                kinds[conv.name] = conv_kind(conv)
                macs[conv_kind(conv)] += layer_macs(conv, shape)
                shape = conv.compute_output_shape(shape)
                if layer.norms:
                    kinds[layer.norms[i].name] = "BatchNorm"
        else:
            macs[kind] += layer_macs(layer, shape)
            for sub in layer._flatten_layers(include_self=False):
                kinds.setdefault(sub.name, kind)
                if isinstance(sub, BatchNorm):
                    kinds[sub.name] = "BatchNorm"
    return kinds, dict(macs)


def _strip(component: str) -> str:
    return _SUFFIX.sub("", component)


def attribute(op_name: str, kinds: dict[str, str]) -> tuple[str, str, str]:
    """(pass, kind, layer) of an op from its name scope."""
    path = op_name.rsplit(":", 1)[0].split("/")
    pass_ = "forward"
    if path[0] == "gradient_tape":
        pass_, path = "backward", path[1:]
    elif path[0].startswith(("adam", "Adam", "SGD", "sgd")):
        return "optimizer", "optimizer", "optimizer"
    elif path[0].startswith("compile_loss"):
        return "loss", "loss", "loss"
    kind, layer = "other", "other"
    for component in path[1:3]:
        for name in (component, _strip(component)):
            if name in kinds:
                kind, layer = kinds[name], name
                break
    return pass_, kind, layer


def read_op_events(logdir: str) -> list[tuple[str, str, int]]:
    """(op name, op type, duration ps) of every op on the executor threads of a trace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    events = []
    for path in glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            for line in plane.lines:
                if not line.name.startswith("tf_Compute"):
                    continue
                for ev in line.events:
                    meta = plane.event_metadata[ev.metadata_id]
                    if meta.display_name:  # op events; executor/threadpool regions have none
                        events.append((meta.name, meta.display_name, ev.duration_ps))
    return events


def profile_call(call, steps: int) -> tuple[list, float]:
    """Runs `call` `steps` times under the profiler; returns (op events, wall s per call)."""
    import tensorflow as tf

    logdir = tempfile.mkdtemp(prefix="xwisenet_profile_")
    try:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        for _ in range(steps):
            call()
        wall = (time.perf_counter() - start) / steps
        tf.profiler.experimental.stop()
        return read_op_events(logdir), wall
    finally:
        shutil.rmtree(logdir, ignore_errors=True)


def robust_op_times(events, steps: int) -> list[tuple[str, str, float]]:
    """(op name, op type, ms per call): each op's median duration over the profiled calls.

    An op that runs once per call appears `steps` times; the median of its durations (times
    its runs per call) ignores the one call in which the thread was descheduled, which on a
    shared machine would otherwise dominate the sum.
    """
    durations = collections.defaultdict(list)
    types = {}
    for name, op_type, ps in events:
        durations[name].append(ps / 1e9)
        types[name] = op_type
    out = []
    for name, values in durations.items():
        per_call = len(values) / steps
        out.append((name, types[name], statistics.median(values) * per_call))
    return out


def summarize_events(events, kinds, kind_macs, steps: int, wall_s: float, mac_factor: float):
    """Per-type, per-kind and per-pass times (ms per call) of profiled op events."""
    by_type, by_kind, by_pass, by_layer, kind_ops = (collections.Counter() for _ in range(5))
    kind_pass = collections.defaultdict(collections.Counter)
    runs = collections.Counter(name for name, _, _ in events)
    for name, op_type, ms in robust_op_times(events, steps):
        pass_, kind, layer = attribute(name, kinds)
        if kind == "other" and "FusedBatchNorm" in op_type:  # also _MklNative...
            # The fused BatchNorm's custom gradient runs outside the layer's name scope.
            pass_, kind, layer = "backward", "BatchNorm", "BatchNorm (gradient)"
        by_type[op_type] += ms
        by_kind[kind] += ms
        by_pass[pass_] += ms
        by_layer[layer] += ms
        kind_pass[kind][pass_] += ms
        kind_ops[kind] += runs[name] / steps
    count = len(events)
    total = sum(by_type.values())
    movement = sum(v for k, v in by_type.items() if k in DATA_MOVEMENT)

    def table(counter, limit=None):
        return [
            {"name": k, "ms": round(v, 2), "share": round(v / total, 4)}
            for k, v in counter.most_common(limit)
        ]

    kinds_out = []
    for row in table(by_kind):
        macs = kind_macs.get(row["name"], 0)
        forward_ms = kind_pass[row["name"]].get("forward", 0.0)
        row.update(
            {
                "ops": round(kind_ops[row["name"]]),
                "forward_ms": round(forward_ms, 2),
                "backward_ms": round(kind_pass[row["name"]].get("backward", 0.0), 2),
                "gmacs": round(macs / 1e9, 4),
                # MACs per second of this kind's own ops (all passes: x mac_factor)
                "gmacs_per_s": round(mac_factor * macs / row["ms"] / 1e6, 1)
                if macs and row["ms"]
                else None,
            }
        )
        kinds_out.append(row)
    return {
        "wall_ms": round(wall_s * 1e3, 2),
        "op_ms": round(total, 2),
        "ops_per_call": round(count / steps),
        "data_movement_ms": round(movement, 2),
        "data_movement_share": round(movement / total, 4) if total else None,
        "by_type": table(by_type, 20),
        "by_kind": kinds_out,
        "by_pass": table(by_pass),
        "top_layers": table(by_layer, 15),
    }


def profile_case(key: str, settings: Settings, steps: int = 3, log=print) -> dict:
    """Inference (batch 1) and training (training batch) profiles of one case."""
    import keras

    from xwisenet_tf.bench.measure import batch_norm_fusion
    from xwisenet_tf.profiling import count_macs

    case = parse_case(key)
    out = {"key": key}
    model = build_model(case, settings, inference=True)
    kinds, kind_macs = layer_kinds(model)
    out["macs"] = count_macs(model)
    call = inference_call(model, random_clips(settings, 1), case.jit_compile)
    for _ in range(3):
        call()
    calls = 4 * steps  # cheap: more calls for steadier medians
    unprofiled = statistics.median(timing.time_call(call) for _ in range(calls))
    log(f"profiling {key}: inference, batch 1, {calls} calls")
    events, wall = profile_call(call, calls)
    out["inference"] = summarize_events(events, kinds, kind_macs, calls, wall, 1.0)
    out["inference"]["unprofiled_ms"] = round(unprofiled * 1e3, 2)
    del model, call
    keras.backend.clear_session()
    if settings.train_rounds:
        with batch_norm_fusion(case.fused_bn):
            model = build_model(case, settings, inference=False)
        kinds, kind_macs = layer_kinds(model)
        step = training_call(
            model, case, random_clips(settings, settings.train_batch), settings.num_classes
        )
        step()
        unprofiled = statistics.median(timing.time_call(step) for _ in range(2))
        log(f"profiling {key}: training, batch {settings.train_batch}, {steps} steps")
        events, wall = profile_call(step, steps)
        # a training step costs ~3 forward passes per clip
        out["training"] = summarize_events(
            events, kinds, kind_macs, steps, wall, 3.0 * settings.train_batch
        )
        out["training"]["unprofiled_ms"] = round(unprofiled * 1e3, 2)
        del model, step
        keras.backend.clear_session()
    return out


def run_profile(keys, settings: Settings, steps: int = 3, log=print) -> dict:
    from xwisenet_tf.bench.machine import describe

    return {
        "schema": 1,
        "machine": describe(),
        "settings": {**settings.as_dict(), "steps": steps},
        "cases": [profile_case(k.strip(), settings, steps, log) for k in keys if k.strip()],
    }


def markdown(result: dict) -> str:
    s = result["settings"]
    lines = [
        f"Profile at {s['frames']}x{s['size']}x{s['size']}: op times from the TensorFlow "
        f"profiler, ms per call, summed over executor threads (share = of that sum), "
        f"{4 * s['steps']} profiled inference calls and {s['steps']} training steps after warm-up, each "
        "op's median over them. GMAC/s of a kind = its MACs / its op time "
        "(training: x3 per clip, forward + both gradients).",
    ]
    for case in result["cases"]:
        for mode in ("inference", "training"):
            p = case.get(mode)
            if not p:
                continue
            batch = 1 if mode == "inference" else s["train_batch"]
            lines += [
                "",
                f"### {case['key']}: {mode} (batch {batch})",
                "",
                f"Wall {p['unprofiled_ms']:.1f} ms per call ({p['wall_ms']:.1f} ms under the "
                f"profiler); op time "
                f"{p['op_ms']:.1f} ms in {p['ops_per_call']} ops (mean "
                f"{1e3 * p['op_ms'] / max(p['ops_per_call'], 1):.0f} us per op); data movement "
                f"(transpose, concat, split, slice, pad) {p['data_movement_ms']:.1f} ms = "
                f"{100 * (p['data_movement_share'] or 0):.1f}%.",
                "",
                "| layer kind | ms | share | ops | fwd ms | bwd ms | GMACs/clip | GMAC/s |",
                "|---|--:|--:|--:|--:|--:|--:|--:|",
            ]
            for r in p["by_kind"]:
                gps = "–" if r["gmacs_per_s"] is None else f"{r['gmacs_per_s']:.0f}"
                lines.append(
                    f"| {r['name']} | {r['ms']:.1f} | {100 * r['share']:.1f}% | {r['ops']} | "
                    f"{r['forward_ms']:.1f} | {r['backward_ms']:.1f} | {r['gmacs']:.3f} | {gps} |"
                )
            lines += ["", "| op type | ms | share |", "|---|--:|--:|"]
            lines += [
                f"| {r['name']} | {r['ms']:.1f} | {100 * r['share']:.1f}% |"
                for r in p["by_type"][:12]
            ]
    return "\n".join(lines) + "\n"


def write(result: dict, out_dir: str) -> list[str]:
    from xwisenet_tf.bench.report import write_result

    title = "Where XwiseNet's time goes"
    return write_result(result, out_dir, "profile", title, markdown(result))


def main_json(result: dict) -> str:
    return json.dumps(result, indent=1)
