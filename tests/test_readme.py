"""Every Python code block of the README runs as written, at tiny sizes.

The blocks are taken from README.md as they stand; only their sizes are shrunk by the textual
substitutions below (each must apply, so a README edit that drops one is noticed), and they run
in a temporary directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
# README text -> its tiny stand-in (the README's own values, made small).
SHRINK = {
    'ensure_dataset("synthetic", "data_cache")': (
        'ensure_dataset("synthetic", "data_cache", videos_per_class=2, '
        "eval_videos_per_class=1, progress=False)"
    ),
    "input_shape=(16, 64, 64, 3)": "input_shape=(8, 32, 32, 3), width=0.5, stage_repeats=(1, 1, 1)",
    "image_size=64": "num_frames=8, image_size=32",
    "epochs, steps = 12, 60": "epochs, steps = 1, 2",
    "causal=True, input_shape=(16, 112, 112, 3)": (
        "causal=True, input_shape=(8, 32, 32, 3), width=0.5, stage_repeats=(1, 1, 1)"
    ),
    "num_frames=24)": "num_frames=4)",
}


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no ```python block"
    used = set()
    monkeypatch.chdir(tmp_path)
    for index, block in enumerate(blocks):
        for old, new in SHRINK.items():
            if old in block:
                used.add(old)
                block = block.replace(old, new)
        namespace: dict = {"__name__": f"readme_block_{index}"}
        try:
            exec(compile(block, f"README.md python block {index}", "exec"), namespace)
        except Exception as e:  # noqa: BLE001 - report which block failed
            pytest.fail(f"README python block {index} failed: {e!r}\n{block}")
    assert used == set(SHRINK), f"substitutions no longer in the README: {set(SHRINK) - used}"
