"""`lazy_attributes`: the lazy names of the package root and of its light subpackages."""

from __future__ import annotations

import importlib

import pytest

from xwisenet_tf.lazy import lazy_attributes

LAZY_PACKAGES = ("xwisenet_tf", "data", "export", "prediction", "streaming", "training")


def test_names_resolve_in_the_package_or_by_full_module_name():
    getattr_, dir_ = lazy_attributes(
        "xwisenet_tf",
        {"write_json": "files", "XwiseNetError": "xwisenet_tf.errors"},
        submodules=("settings",),
    )
    from xwisenet_tf import errors, files, settings

    assert getattr_("write_json") is files.write_json
    assert getattr_("XwiseNetError") is errors.XwiseNetError
    assert getattr_("settings") is settings
    assert {"write_json", "XwiseNetError", "settings", "__version__"} <= set(dir_())
    assert dir_() == sorted(dir_())
    with pytest.raises(AttributeError, match="module 'xwisenet_tf' has no attribute 'nothing'"):
        getattr_("nothing")


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_lazy_name_is_the_defining_modules(name):
    package = importlib.import_module(name if name == "xwisenet_tf" else f"xwisenet_tf.{name}")
    for attribute, where in package._LAZY.items():
        module = importlib.import_module(where if "." in where else f"{package.__name__}.{where}")
        assert getattr(package, attribute) is getattr(module, attribute), attribute
        assert attribute in dir(package)
