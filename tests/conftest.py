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


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
