"""The training engine: one loop, checkpoints, metrics and reports for every recipe."""
from .._heap import keep_heap_warm
from ._checkpoint import CheckpointError, load_checkpoint, save_atomic
from ._cv import cross_validate
from ._config import DEFAULTS, ConfigError, apply_overrides, load_recipe
from ._sweep import Experiment, load_experiment, run_experiment
from ._trainer import Interrupted, Trainer, TrainingError, resolve_device
from ._rundir import RunDir
from ._task import ROTATION, TIME_SCALE, ZOOM, AudioTask, EvalTransform, ImageTask, Task, make_task, transform_named

__all__ = ["Trainer", "TrainingError", "Interrupted", "resolve_device", "load_recipe", "apply_overrides",
           "ConfigError", "CheckpointError", "DEFAULTS", "save_atomic", "load_checkpoint", "cross_validate",
           "Experiment", "load_experiment", "run_experiment", "RunDir", "Task", "ImageTask", "AudioTask", "make_task",
           "EvalTransform", "ROTATION", "ZOOM", "TIME_SCALE", "transform_named", "keep_heap_warm"]
