"""Distribution strategy selection: one device, several GPUs, several machines.

* ``default``: the current (default) strategy, one device.
* ``mirrored``: `tf.distribute.MirroredStrategy` over every visible GPU (or the logical CPUs
  made by ``cpu_devices``): synchronous data parallelism on one machine.
* ``multi_worker``: `tf.distribute.MultiWorkerMirroredStrategy` over the cluster described by
  the ``TF_CONFIG`` environment variable (one process per machine, each using all its GPUs).
* ``auto``: ``multi_worker`` when ``TF_CONFIG`` names more than one worker, ``mirrored`` when
  more than one GPU is visible, else ``default``.

The batch size given to training is global: `tf.distribute` splits every batch across the
replicas, so a batch of 64 on 4 GPUs runs 16 clips per GPU and the optimiser sees the same
update as on one device.

Keras 3.15 with MultiWorkerMirroredStrategy needs two fixes (keras-team/keras#20585,
tensorflow/tensorflow#72388): ``Model.fit`` reduces a whole input batch with
``strategy.reduce`` before its symbolic build, and ``reduce_per_replica`` reduces scalar logs
over ``axis=0``; both fail for collective strategies. `patch_model_for_strategy` and
`install_keras_multi_worker_fixes` replace those two steps, only when a multi-worker strategy
is used.
"""

from __future__ import annotations

import json
import os
import types
from dataclasses import dataclass

import tensorflow as tf

from xwisenet_tf.training.errors import TrainingError


@dataclass(frozen=True)
class TaskInfo:
    """Where this process sits in a cluster.

    Attributes:
        num_workers: Processes in the cluster (1 without ``TF_CONFIG``).
        task_type: ``"worker"`` or ``"chief"`` (``None`` outside a cluster).
        task_index: Index of this process among its type.
        is_chief: Whether this process writes the run's checkpoints, logs and reports
            (worker 0 when the cluster has no ``chief`` task).
    """

    num_workers: int = 1
    task_type: str | None = None
    task_index: int = 0
    is_chief: bool = True

    @property
    def worker_name(self) -> str:
        """``"<type>-<index>"`` (e.g. ``worker-1``): the sub-folder of a non-chief worker."""
        return f"{self.task_type or 'worker'}-{self.task_index}"


def read_tf_config() -> TaskInfo:
    """Parses ``TF_CONFIG`` (absent -> one process).

    Raises:
        TrainingError: ``TF_CONFIG`` is not JSON or lacks ``cluster``/``task``.
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return TaskInfo()
    try:
        config = json.loads(raw)
        cluster = config["cluster"]
        task = config["task"]
        task_type, task_index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError) as e:
        raise TrainingError(
            f"TF_CONFIG is not a valid cluster description ({e}); expected JSON like "
            '{"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}'
        ) from e
    num_workers = sum(len(cluster.get(k, [])) for k in ("chief", "worker"))
    if "chief" in cluster:
        is_chief = task_type == "chief"
    else:
        is_chief = task_type == "worker" and task_index == 0
    return TaskInfo(num_workers, task_type, task_index, is_chief)


def configure_cpu_devices(count: int) -> None:
    """Splits the first CPU into ``count`` logical devices (for mirroring without GPUs).

    Must run before TensorFlow initialises its devices (before any op runs).

    Raises:
        TrainingError: TensorFlow is already initialised with another split.
    """
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration()] * count
        )
    except RuntimeError as e:
        if len(tf.config.list_logical_devices("CPU")) == count:
            return
        raise TrainingError(
            f"cannot split the CPU into {count} logical devices: TensorFlow is already "
            f"initialised ({e}); set cpu_devices before anything else runs"
        ) from e


def make_strategy(name: str = "auto", cpu_devices: int | None = None) -> tf.distribute.Strategy:
    """The distribution strategy ``name`` (see module docstring).

    Args:
        name: ``"auto"``, ``"default"``, ``"mirrored"`` or ``"multi_worker"``.
        cpu_devices: Split the CPU into this many logical devices first; with ``"mirrored"``
            (or ``"auto"`` and no GPU) the strategy mirrors over them.

    Returns:
        The strategy; enter ``strategy.scope()`` to build and compile the model.

    Raises:
        TrainingError: unknown name, or ``multi_worker`` without a valid ``TF_CONFIG``.
    """
    if name not in ("auto", "default", "mirrored", "multi_worker"):
        raise TrainingError(
            f"unknown strategy {name!r}; expected auto, default, mirrored or multi_worker"
        )
    task = read_tf_config()
    if name == "auto":
        if task.num_workers > 1:
            name = "multi_worker"
        elif len(tf.config.list_physical_devices("GPU")) > 1 or (cpu_devices or 1) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise TrainingError(
                "strategy multi_worker needs the TF_CONFIG environment variable describing the "
                "cluster (see docs/training.md)"
            )
        install_keras_multi_worker_fixes()
        if cpu_devices:
            configure_cpu_devices(cpu_devices)
        return tf.distribute.MultiWorkerMirroredStrategy()
    if cpu_devices:
        configure_cpu_devices(cpu_devices)
    if name == "mirrored":
        if not tf.config.list_physical_devices("GPU") and cpu_devices:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
            return tf.distribute.MirroredStrategy(devices)
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def strategy_name(strategy: tf.distribute.Strategy) -> str:
    """``"default"``, ``"mirrored"`` or ``"multi_worker"``."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "multi_worker"
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return "mirrored"
    return "default"


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether ``strategy`` spans several processes."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.extended._in_multi_worker_mode()  # noqa: SLF001 - no public equivalent
    )


_FIXES_INSTALLED = False


def install_keras_multi_worker_fixes() -> None:
    """Makes Keras' TensorFlow trainer reduce logs correctly under collective strategies.

    Keras 3.15 ``reduce_per_replica`` calls ``strategy.reduce("MEAN", v, axis=0)`` on the
    scalar loss and metrics when the strategy is multi-worker, which fails ("Invalid reduction
    dimension 0 for input with 0 dimensions"). The replacement averages over replicas
    (``axis=None``) and leaves every other case to Keras. Idempotent.
    """
    global _FIXES_INSTALLED
    if _FIXES_INSTALLED:
        return
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction="auto"):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    trainer.reduce_per_replica = reduce_per_replica
    _FIXES_INSTALLED = True


def patch_model_for_strategy(model, strategy: tf.distribute.Strategy) -> None:
    """Lets ``model.fit`` build under a multi-worker strategy (Keras 3.15 workaround).

    Keras builds the model symbolically from one batch, which it first reduces with
    ``strategy.reduce`` over the whole ``(clips, labels)`` structure; collective strategies
    reject that. Only shapes matter for the build, so this process's first replica batch is
    used instead. No-op for other strategies.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    from keras.src import tree

    original = type(model)._maybe_symbolic_build

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None or iterator is None:
            return original(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            data_batch = next(it)
            break

        def local(x):
            if isinstance(x, tf.distribute.DistributedValues):
                return self.distribute_strategy.experimental_local_results(x)[0]
            return x

        data_batch = tree.map_structure(local, data_batch)
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = types.MethodType(_maybe_symbolic_build, model)
