"""What kind of learning a dataset poses, as one object: its evaluation transform, augmentations,
metrics and report columns. The trainer, sweeps, cross validation, reports and the CLI ask the
task; none of them compares dataset kinds.

- :class:`ImageTask`: images classified upright, evaluated under input rotations (degrees), or,
  for datasets of context patches (``zoom_size``), under magnifications (×), optionally with
  every test image also turned by ``eval.rotation``.
- :class:`AudioTask`: waveforms classified (or tagged, multi-label), evaluated under time
  stretches (×).

Results files name their transform (``results.json``'s ``eval_transform``);
:func:`transform_named` turns that name back into the :class:`EvalTransform`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data import AudioAugment, Augment, normalize, random_zoom, rotate, time_stretch, zoom
from ._config import ConfigError
from ._metrics import classification_metrics, multilabel_metrics

__all__ = ["EvalTransform", "ROTATION", "ZOOM", "TIME_SCALE", "transform_named", "Task", "ImageTask", "AudioTask",
           "make_task", "task_class"]


@dataclass(frozen=True)
class EvalTransform:
    """A family of test-time input transforms, indexed by one number."""

    name: str  #: as results.json names it ("rotation", "zoom", "time scale")
    unit: str  #: "°" or "×"
    identity: float  #: the parameter that leaves the input as it is
    label: str  #: the identity in words, for report headers
    axis: str  #: the parameter in words, for plot axes
    key: str  #: the recipe's list of parameters: eval.<key>
    log_scale: bool  #: plotted on a log axis (factors) or a linear one (angles)
    turnable: bool = False  #: every test image may also be turned by one angle (eval.rotation)

    def format(self, value: float) -> str:
        """``90°``, ``0.5×``."""
        return f"{float(value):g}{self.unit}"

    def identity_key(self) -> str:
        """The identity as results.json keys it ("0.0", "1.0")."""
        return str(float(self.identity))


ROTATION = EvalTransform("rotation", "°", 0.0, "upright", "input rotation (degrees)", "rotations", False)
ZOOM = EvalTransform("zoom", "×", 1.0, "1× magnification", "input magnification (log scale)", "zooms", True,
                     turnable=True)
TIME_SCALE = EvalTransform("time scale", "×", 1.0, "original time scale", "input time-scale factor (log scale)",
                           "scales", True)
_TRANSFORMS = {t.name: t for t in (ROTATION, ZOOM, TIME_SCALE)}


def transform_named(name: str | None) -> EvalTransform:
    """The transform a results file names (results written before the name existed: rotation)."""
    try:
        return _TRANSFORMS[name or "rotation"]
    except KeyError:
        raise ValueError(f"unknown evaluation transform {name!r}; known: {', '.join(_TRANSFORMS)}") from None


def _zoom_range(value, dataset) -> tuple[float, float]:
    """``augment.zoom = [lo, hi]``: magnifications drawn log-uniformly; checked against the data."""
    if not getattr(dataset, "zoom_size", None):
        raise ValueError(f"augment.zoom needs a dataset of context patches that can be zoomed (tissue_zoom); "
                         f"{dataset.name!r} has fixed-size patches")
    lo, hi = (float(v) for v in value)  # [lo, hi], 0 < lo <= hi (the schema)
    if lo < dataset.min_zoom - 1e-9:
        raise ValueError(f"augment.zoom: {dataset.name} patches hold context for zooms >= {dataset.min_zoom}, got {lo}")
    return lo, hi


class Task:
    """The interface the engine uses. ``prepare`` turns a raw batch into the network's input:
    the training augmentation when ``gen`` is given, else the evaluation transform ``param``
    (and, for zoom sweeps, a turn of each image by ``angles`` degrees)."""

    kind: str = ""
    transform: EvalTransform
    multilabel: bool = False

    def __init__(self, dataset, cfg: dict):
        self.dataset = dataset
        self.params = [float(v) for v in cfg["eval"][self.transform.key]]
        if cfg["eval"]["rotation"] and not self.transform.turnable:
            raise ConfigError(f"eval.rotation turns every test image of a zoom sweep (context-patch datasets such as "
                              f"tissue_zoom); {cfg['data']['name']!r} is not one: for images use eval.rotations = "
                              f"[angles], for audio leave eval.rotation at 0")

    @property
    def augmenting(self) -> bool:
        """Whether training batches are transformed (else they are the stored inputs as they are)."""
        raise NotImplementedError

    def prepare(self, raw: torch.Tensor, gen: torch.Generator | None, param: float | None = None,
                angles: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy, or binary cross-entropy per tag (multi-label)."""
        if self.multilabel:
            return F.binary_cross_entropy_with_logits(logits.float(), labels.float())
        return F.cross_entropy(logits.float(), labels)

    def correct(self, logits: torch.Tensor, labels: torch.Tensor) -> float:
        """Examples classified right in a batch (multi-label: the batch's share of right tags, times its size)."""
        if self.multilabel:
            return float(((logits > 0).float() == labels).float().mean()) * len(labels)
        return int((logits.argmax(1) == labels).sum())

    def metrics(self, logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        return (multilabel_metrics if self.multilabel else classification_metrics)(logits, labels)

    @property
    def select(self) -> str:
        """The validation metric that picks best.pt."""
        return "auc" if self.multilabel else "acc"

    # -- what a trained run's users need, from the dataset class and the run's config (predict, export)
    @classmethod
    def sample_rate(cls, data_cls, cfg: dict) -> int | None:
        """The input's sample rate in Hz (audio), or None."""
        return None

    @classmethod
    def example_input(cls, data_cls, cfg: dict, model, batch: int, gen: torch.Generator) -> torch.Tensor:
        """A random input of the shape the run was trained on."""
        raise NotImplementedError

    @classmethod
    def input_spec(cls, data_cls, cfg: dict) -> dict:
        """How a caller prepares the input (an exported model's description)."""
        raise NotImplementedError


class ImageTask(Task):
    """Image classification; evaluated under rotations, or magnifications for context patches."""

    kind = "image"

    def __init__(self, dataset, cfg: dict):
        self.zoom_size = getattr(dataset, "zoom_size", None)
        self.transform = ZOOM if self.zoom_size else ROTATION
        super().__init__(dataset, cfg)
        a = cfg["augment"]
        if a["stretch"] or a["pad"] or a["crop"]:
            raise ValueError("augment.stretch is for audio, as are augment.pad and augment.crop; images use rot90, "
                             "flip, rotate, color_jitter, zoom")
        self.augment = Augment(rot90=bool(a["rot90"]), flip=bool(a["flip"]), rotate=bool(a["rotate"]),
                               color_jitter=bool(a["color_jitter"]), padding=dataset.rotation_padding)
        self.zoom_aug = _zoom_range(a["zoom"], dataset) if a["zoom"] else None

    @property
    def augmenting(self) -> bool:
        return self.augment.active or self.zoom_aug is not None

    def prepare(self, raw, gen, param=None, angles=None):
        x = raw.float() / 255.0
        if self.zoom_size:  # magnification: a random zoom (training) or the evaluation zoom
            factor = random_zoom(len(x), *self.zoom_aug, gen) if gen is not None and self.zoom_aug else param or 1.0
            x = zoom(x, factor, self.zoom_size)
        if gen is not None and self.augment.active:
            x = self.augment(x, gen)
        if param and not self.zoom_size:
            x = rotate(x, param, padding=self.dataset.rotation_padding)
        if angles is not None:
            x = rotate(x, angles, padding=self.dataset.rotation_padding)
        return normalize(x, self.dataset.mean, self.dataset.std)

    @staticmethod
    def patch_size(data_cls, model) -> int:
        """The side of the patches the run was trained on: the data set's network input for
        context patches (``zoom_size``), else the model's own input size (or window)."""
        size = getattr(data_cls, "zoom_size", None) or getattr(model, "input_size", None) or getattr(model, "window", None)
        if not size:
            raise ValueError(f"the patch size a {type(model).__name__} was trained on is not recorded for data set "
                             f"{getattr(data_cls, 'name', data_cls.__name__)!r} (it has no zoom_size, the model no "
                             f"input_size or window); export and predict need it")
        return int(size)

    @classmethod
    def example_input(cls, data_cls, cfg, model, batch, gen):
        size = cls.patch_size(data_cls, model)
        return torch.randn(batch, int(model.in_channels), size, size, generator=gen)

    @classmethod
    def input_spec(cls, data_cls, cfg):
        return {"layout": "[batch, channels, height, width]: (image / 255 - mean) / std per channel",
                "mean": [float(v) for v in torch.as_tensor(data_cls.mean).flatten()],
                "std": [float(v) for v in torch.as_tensor(data_cls.std).flatten()]}


class AudioTask(Task):
    """Waveform classification (or multi-label tagging); evaluated under time stretches."""

    kind = "audio"
    transform = TIME_SCALE

    def __init__(self, dataset, cfg: dict):
        super().__init__(dataset, cfg)
        a = cfg["augment"]
        if any(a[k] for k in ("rot90", "flip", "rotate", "color_jitter", "zoom")):
            raise ValueError("rot90/flip/rotate/color_jitter/zoom augment images; for audio use augment.stretch = "
                             "[lo, hi]")
        self.multilabel = bool(getattr(dataset, "multilabel", False))
        self.augment = AudioAugment(stretch=tuple(float(v) for v in a["stretch"]) if a["stretch"] else None,
                                    pad=tuple(float(v) for v in a["pad"]) if a["pad"] else None,
                                    crop=tuple(float(v) for v in a["crop"]) if a["crop"] else None)

    @property
    def augmenting(self) -> bool:
        return self.augment.active

    def prepare(self, raw, gen, param=None, angles=None):
        x = raw.float()
        if x.dim() == 4:  # cached front-end features (spectrograms): no transform applies to them
            return x
        if gen is not None and self.augment.active:
            x = self.augment(x, gen)
        return x if param in (None, self.transform.identity) else time_stretch(x, param)

    @classmethod
    def sample_rate(cls, data_cls, cfg):
        return data_cls.clip_format(cfg["data"].get("sample_rate"), cfg["data"].get("length"))[0]

    @classmethod
    def example_input(cls, data_cls, cfg, model, batch, gen):
        _, length = data_cls.clip_format(cfg["data"].get("sample_rate"), cfg["data"].get("length"))
        return 0.1 * torch.randn(batch, 1, length, generator=gen)

    @classmethod
    def input_spec(cls, data_cls, cfg):
        return {"sample_rate": cls.sample_rate(data_cls, cfg),
                "layout": "[batch, channels, samples]: mono waveforms at sample_rate"}


#: dataset kind -> its task
TASKS: dict[str, type[Task]] = {"image": ImageTask, "audio": AudioTask}


def task_class(dataset) -> type[Task]:
    """The task class of a dataset (or dataset class): its ``kind``, image unless it says audio."""
    kind = getattr(dataset, "kind", "image")
    if kind not in TASKS:
        raise ValueError(f"no task for datasets of kind {kind!r}; known: {', '.join(TASKS)}")
    return TASKS[kind]


def make_task(dataset, cfg: dict) -> Task:
    """The task of ``dataset`` under recipe ``cfg``."""
    return task_class(dataset)(dataset, cfg)
