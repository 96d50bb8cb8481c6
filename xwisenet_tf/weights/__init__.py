"""Pretrained weights from the PyTorch video zoos, and fine-tuning from them.

- `import_file` / `build_pretrained` / `import_state_dict`: a PyTorch state dict (`.npz`, or
  `.pth` when torch is installed) of Efficient-3DCNNs' 3D ShuffleNet V2 (format "e3d",
  `shufflenet3d-*` presets) or of 3D-ResNets-PyTorch (format "hara", `resnet3d-*`, shortcut A
  or B) into the matching preset, by name, all or nothing.
- `init_from(model, "e3d:PATH")` / `factorise_state_dict`: an Efficient-3DCNNs ShuffleNet V2
  state dict into an XwiseNet of the same width, each 3x3x3 depthwise kernel factorised into
  X-Conv's 1x3x3 and 3x1x1 kernels (``train.py --init_from``; the `FactorisationReport` gives the
  energy the factorisation keeps per stage).
- Fine-tuning from a saved `.keras` model (``train.py --init_checkpoint``) is
  `xwisenet_tf.training.init_checkpoint.load_init_checkpoint`: a training step, so it lives in
  `training`, which imports this package (never the reverse).

CLI: ``python -m xwisenet_tf.weights import --format e3d --preset shufflenet3d-1.0x --input
model.npz --output model.keras``. Where torch is installed, a downloaded `.pth` becomes an
`.npz` with::

    import numpy as np, torch; sd = torch.load("model.pth", map_location="cpu")
    np.savez("model.npz", **{k: v.numpy() for k, v in sd.get("state_dict", sd).items()})
"""

from xwisenet_tf.weights.errors import WeightImportError
from xwisenet_tf.weights.factorise import FactorisationReport, factorise_state_dict, init_from
from xwisenet_tf.weights.importer import (
    FORMATS,
    ImportReport,
    build_pretrained,
    import_file,
    import_state_dict,
)
from xwisenet_tf.weights.state_dict import load_state_dict

__all__ = [
    "FORMATS",
    "FactorisationReport",
    "ImportReport",
    "WeightImportError",
    "build_pretrained",
    "factorise_state_dict",
    "import_file",
    "import_state_dict",
    "init_from",
    "load_state_dict",
]
