"""The command-line tools start TensorFlow without its start-up lines, unless the user set
``TF_CPP_MIN_LOG_LEVEL``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from xwisenet_tf import quiet_start

REPO = Path(__file__).resolve().parents[1]
# Lines TensorFlow 2.21 printed on a CPU machine before this module existed.
STARTUP_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795882722.242270   26313 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors.",
    "I0000 00:00:1795882722.242606   26313 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "E0000 00:00:1795882723.264724   26313 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
]


def _env(**changes: str | None) -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def test_startup_lines_are_noise_and_others_are_not():
    assert all(quiet_start.is_noise(line) for line in STARTUP_LINES)
    assert not quiet_start.is_noise("error: runs/x: model directory not found")
    assert not quiet_start.is_noise(
        "E0000 00:00:1795882723.264724   26313 op_kernel.cc:1830] OP_REQUIRES failed"
    )


def test_filtered_stderr_keeps_everything_but_noise(capfd):
    with quiet_start.filtered_stderr():
        os.write(2, ("\n".join([*STARTUP_LINES, "a real warning"]) + "\n").encode())
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "a real warning\nafter\n"


def test_a_cli_error_is_the_only_line_on_stderr(tmp_path):
    """evaluate.py loads TensorFlow before it finds that the run directory does not exist."""
    missing = tmp_path / "no_run"
    result = subprocess.run(
        [sys.executable, str(REPO / "evaluate.py"), f"--model_dir={missing}"],
        cwd=REPO, env=_env(TF_CPP_MIN_LOG_LEVEL=None), capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"error: {missing}: model directory not found\n"


def test_the_users_log_level_is_kept_and_nothing_is_filtered():
    probe = (
        "import os, sys, xwisenet_tf.quiet_start as q\n"
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], "
        "any(type(f).__name__ == '_QuietTensorFlowFinder' for f in sys.meta_path))"
    )
    for user, expected in [("0", "0 False"), ("3", "3 False"), (None, "2 True")]:
        result = subprocess.run(
            [sys.executable, "-c", probe], env=_env(TF_CPP_MIN_LOG_LEVEL=user),
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert result.stdout.strip() == expected, (user, result.stdout)
