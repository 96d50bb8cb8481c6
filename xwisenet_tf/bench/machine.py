"""A description of the machine and software a benchmark ran on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys


def _cpuinfo(field: str) -> str | None:
    """The first ``field`` line of /proc/cpuinfo (Linux), e.g. ``"model name"``, ``"flags"``."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == field:
                    return value.strip()
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return _cpuinfo("model name") or platform.processor() or "unknown"


# CPU features that decide which kernels oneDNN and XNNPACK use (/proc/cpuinfo flag names).
CPU_FEATURES = {
    "avx2": "avx2",
    "fma": "fma",
    "avx512": "avx512f",
    "avx512_vnni": "avx512_vnni",
    "avx512_bf16": "avx512_bf16",
    "avx_vnni": "avx_vnni",
    "amx": "amx_tile",
}


def cpu_features() -> dict[str, bool | None]:
    """Which of `CPU_FEATURES` the CPU has; ``None`` each where /proc/cpuinfo is unreadable."""
    flags = _cpuinfo("flags")
    if flags is None:
        return dict.fromkeys(CPU_FEATURES)
    present = set(flags.split())
    return {name: flag in present for name, flag in CPU_FEATURES.items()}


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _git_commit() -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=here
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit or None


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def describe() -> dict:
    """CPU (model name, AVX-512 and the other `CPU_FEATURES`), cores, memory, load, library
    versions and oneDNN state."""
    import keras
    import tensorflow as tf

    from xwisenet_tf.data.synthetic import usable_cpus

    try:
        from ai_edge_litert import __version__ as litert
    except ImportError:
        litert = None
    try:
        from tensorflow.python.util import _pywrap_util_port

        onednn = bool(_pywrap_util_port.IsMklEnabled()) and os.environ.get(
            "TF_ENABLE_ONEDNN_OPTS", "1"
        ) not in ("0", "false", "False")
    except ImportError:
        onednn = None
    features = cpu_features()
    return {
        "cpu": _cpu_model(),
        "avx512": features["avx512"],
        "cpu_features": features,
        "cpus": os.cpu_count(),
        "cpus_usable": usable_cpus(),
        "memory_gb": _memory_gb(),
        "load_average_start": load_average(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "ai_edge_litert": litert,
        "onednn": onednn,
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "git_commit": _git_commit(),
    }
