import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Under pytest-xdist (`.ci/run`: two workers on two cores) each worker, and every subprocess a
# test starts, gets one TensorFlow thread per op pool: TensorFlow's default pools (one thread
# per core, in each worker) oversubscribe the cores and spin. Measured on a fresh clone: the
# oneDNN-off pass of .ci/run 182 -> 132 s, the whole suite 1360 -> 1007 s. Set before
# TensorFlow is imported (it reads them at start).
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _freeze_what_outlives_a_module():
    """Before each test module: collect garbage, then move every object still alive into the
    permanent generation (`gc.freeze`), which later collections do not traverse.

    `keras.backend.clear_session()` after every test runs a full `gc.collect()`, whose time
    grows with the worker's heap, and the heap only grows: every traced training step leaks
    its graph (`tf.custom_gradient` in graph mode registers each gradient function in
    TensorFlow's global registry, and `BatchNorm`'s fused path uses one). Late in a run each
    collection took 1-2 s: 366 s of the suite's summed teardowns, 61 s with this fixture.
    What is alive between modules is that leak, the session fixtures and imported modules;
    frozen, each collection traverses only the current module's objects. Set up before the
    module's own fixtures (autouse, module scope), so their objects are not frozen; the peak
    resident set of a run of four model-heavy modules stayed the same (2.36 against 2.34 GB).
    That leak is fixed since (`xwisenet_tf.layers.traced_gradients`); what the fixture saves
    now was not measured again.
    """
    gc.collect()
    gc.freeze()
    yield


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
