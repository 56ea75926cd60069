"""One training loop for every recipe.

Determinism: the data order of epoch ``e`` is a permutation drawn from ``seed`` and ``e``, and
augmentations draw from a generator seeded the same way (per rank). A checkpoint stores the
epoch, the number of batches done in it and the augmentation generator's state, so a run
interrupted anywhere (Ctrl-C) resumes to exactly the weights of an uninterrupted run.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._extras import need
from .._io import write_json
from ..data import FILE_OPTIONS, FeatureView, feature_cache, fingerprint, get_dataset, stratified_subset
from ..models import count_parameters, model_from_config, resolve_model_config, wavelet_loss
from ._checkpoint import load_checkpoint, save_atomic
from ._config import DEFAULTS, ConfigError, _merge, check
from ._dist import DistInfo, init_distributed, main_first
from ._report import plot_curves, write_metrics, write_summary
from ._rundir import resume_changes
from ._task import make_task

__all__ = ["Trainer", "TrainingError", "Interrupted", "resolve_device"]


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, …); the message names the step and what to do."""


class Interrupted(RuntimeError):
    """Ctrl-C: state was saved; the message says how to resume."""


def resolve_device(name: str | None = None) -> torch.device:
    """``"auto"`` (or ``None``): CUDA when torch sees a GPU, else the CPU; otherwise the named
    device (``"cpu"``, ``"cuda"``, ``"cuda:1"``), refused with a ValueError when it does not
    exist here."""
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        n = torch.cuda.device_count()
        raise ValueError(f"device {name!r} requested but torch sees {n} GPU(s) (cuda:0 … cuda:{n - 1}); "
                         "use one of those, or cuda for the current one")
    return device


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _unwrap(model: nn.Module) -> nn.Module:
    model = getattr(model, "_orig_mod", model)  # torch.compile
    return getattr(model, "module", model)  # DDP


def _deterministic() -> None:
    """``train.deterministic = true``: deterministic kernels everywhere (CUDA included), or an
    error naming an op that has none. On CPU the default path is already deterministic."""
    import os

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it for reproducible GEMMs
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False


#: the seed of the evaluation's random rotations: every model, zoom and run sees the same angle per test image
ROTATION_SEED = 20180916


def rotation_angles(spec: float | str, n: int) -> torch.Tensor | None:
    """The angle (degrees) each of ``n`` test images is turned by under ``eval.rotation = spec``."""
    if spec == "random":
        return torch.rand(n, generator=torch.Generator().manual_seed(ROTATION_SEED), dtype=torch.float64) * 360
    return torch.full((n,), float(spec), dtype=torch.float64) if spec else None


def versions() -> dict:
    """What trained a run, recorded in its ``results.json``: wavenets, torch and Python versions
    (a run's numbers hold for its code; ``wavenets experiment`` reuses a finished run under the same
    configuration, and says so when these differ from the running ones)."""
    import platform

    from .. import __version__

    return {"wavenets": __version__, "torch": torch.__version__, "python": platform.python_version()}


class Trainer:
    """Train, evaluate, checkpoint and report one recipe into ``run_dir``.

    Args:
        cfg: the resolved recipe (see :mod:`wavenets.train._config`).
        run_dir: output folder (config, metrics, checkpoints, curves, summary).
        device: torch device (default: CUDA if available).
        data_root: dataset root (default ``$WAVENETS_DATA`` or ``datasets/``).
        on_step: called as ``on_step(epoch, step)`` after every optimiser step (tests, hooks).
        quiet: no progress bars or per-epoch lines.
    """

    def __init__(self, cfg: dict, run_dir: Path, *, device: torch.device | None = None, data_root=None,
                 on_step: Callable[[int, int], None] | None = None, quiet: bool = False):
        cfg = check(_merge(DEFAULTS, cfg))  # every key known, of its type and range (the schema), before any work
        # the model table as built: every key of the model with its default filled in, as config.json records it
        cfg["model"] = resolve_model_config(cfg["model"], default_preset=cfg["data"]["name"])
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.device = device or resolve_device()
        self.dist: DistInfo = init_distributed(self.device)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        self.on_step, self.quiet = on_step, quiet
        t, d = cfg["train"], cfg["data"]
        self.seed, self.epochs, self.batch_size = t["seed"], t["epochs"], t["batch_size"]
        _seed_all(self.seed)
        if t["deterministic"]:
            _deterministic()
        options = {k: d[k] for k in FILE_OPTIONS}
        with main_first(self.dist):  # under torchrun rank 0 decodes and caches the clips, the others read its cache
            self.train_set = get_dataset(d["name"], "train", data_root, **options)
            self.val_set = get_dataset(d["name"], "val", data_root, **options)
            self.test_set = get_dataset(d["name"], "test", data_root, **options)
        #: which data the run reads (:func:`~wavenets.data.fingerprint` of its splits): kept in checkpoints and
        #: results, so that a resume or a reused run on other data is refused
        self.data_key = fingerprint(self.train_set, self.val_set, self.test_set)
        #: the name of each output, as the data name them (None where they do not): kept in checkpoints and
        #: results, so that predict and export can name the outputs without the data
        self.class_names: list[str] | None = getattr(self.train_set, "class_names", None)
        self.train_index = stratified_subset(self.train_set.labels, float(d["fraction"]), self.seed)
        #: what the data pose: evaluation transform, augmentations, metrics (wavenets.train._task)
        self.task = make_task(self.train_set, cfg)
        self.transform = self.task.transform
        self.eval_rotation = cfg["eval"]["rotation"]  # zoom sweeps: every test image also turned (tissue_rotscale)
        model = model_from_config(cfg["model"], in_channels=self.train_set.in_channels,
                                  num_classes=self.train_set.num_classes,
                                  sample_rate=getattr(self.train_set, "sample_rate", None))
        self.params = count_parameters(model)
        #: a fixed front end (spec_cnn's spectrogram): untransformed clips are read as cached features
        self.frontend = getattr(model, "frontend", None)
        self._feature_views: dict[int, FeatureView] = {}
        self.model = model.to(self.device)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        if t["compile"]:
            self.model = torch.compile(self.model)
        self.amp = (t["amp"] == "auto" and self.device.type == "cuda") or t["amp"] in (True, "bf16")
        self.optimizer = self._optimizer()
        self.scheduler = self._scheduler()
        self.history: list[dict] = []
        self.best = {"epoch": None, "score": -math.inf}
        self.epoch, self.step_in_epoch = 0, 0
        self._partial = {"loss": 0.0, "correct": 0, "seen": 0}
        self._aug_state: torch.Tensor | None = None
        self._best_loaded = False
        self.wall = 0.0

    # -- construction ------------------------------------------------------------------
    def _optimizer(self) -> torch.optim.Optimizer:
        o = self.cfg["optim"]
        params, name = self.model.parameters(), o["name"].lower()
        if name == "adam":
            return torch.optim.Adam(params, lr=o["lr"], weight_decay=o["weight_decay"])
        if name == "adamw":
            return torch.optim.AdamW(params, lr=o["lr"], weight_decay=o["weight_decay"])
        if name == "sgd":
            return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], nesterov=bool(o["nesterov"]),
                                   weight_decay=o["weight_decay"])
        raise ValueError(f"unknown optimizer {o['name']!r}; use adam, adamw or sgd")

    def _scheduler(self):
        s, name = self.cfg["schedule"], self.cfg["schedule"]["name"].lower()
        if name == "none":
            return None
        if name == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=max(1, self.epochs))
        if name == "step":
            return torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=int(s["step_size"]), gamma=s["gamma"])
        if name == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, factor=s["factor"],
                                                              patience=int(s["patience"]))
        raise ValueError(f"unknown schedule {s['name']!r}; use none, cosine, step or plateau")

    # -- data ----------------------------------------------------------------------------
    def _epoch_batches(self, epoch: int) -> list[torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.from_numpy(self.train_index)[torch.randperm(len(self.train_index), generator=g)]
        world = self.dist.world_size
        order = order[: len(order) // world * world][self.dist.rank :: world]  # equal steps on every rank
        batches = list(order.split(self.batch_size))
        if len(batches) > 1 and len(batches[-1]) == 1:  # batch norm cannot train on one sample; the epoch
            batches.pop()  # order is reshuffled, so a different sample sits out each epoch
        return batches

    def _fetch(self, dataset, idx: torch.Tensor):
        images, labels = read_batch(dataset, idx)
        return images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)

    def _stream(self, dataset, batches: list[torch.Tensor]):
        """``(images, labels)`` on the device for every batch of ``batches``, in order. A dataset
        read from disk (``in_memory = False``: PCam, memory-mapped audio caches) is read by
        ``data.num_workers`` DataLoader worker processes ahead of the compute, into pinned memory
        on CUDA; in-memory datasets, or ``num_workers = 0``, are sliced here. A batch's content
        depends on its indices only, so the data, and the weights, are the same with any number of
        workers, and a resumed epoch starts at the batch where it stopped."""
        workers = min(int(self.cfg["data"]["num_workers"]), len(batches))
        if not workers or getattr(dataset, "in_memory", True):
            for idx in batches:
                yield self._fetch(dataset, idx)
            return
        loader = torch.utils.data.DataLoader(_Batches(dataset, batches), batch_size=None, shuffle=False,
                                             num_workers=workers, pin_memory=self.device.type == "cuda",
                                             prefetch_factor=2)
        for images, labels in loader:
            yield images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)

    def _source(self, dataset, untransformed: bool):
        """What to read a batch from: ``dataset``, or, for a model with a fixed front end and
        clips that no augmentation or evaluation transform touches, its cached features
        (:func:`~wavenets.data.feature_cache`, computed once per split)."""
        if self.frontend is None or not untransformed:
            return dataset
        view = self._feature_views.get(id(dataset))
        if view is None:
            feats = feature_cache(dataset, self.frontend, quiet=self.quiet or not self.dist.is_main)
            view = self._feature_views[id(dataset)] = FeatureView(dataset, feats)
        return view

    def _aug_generator(self, epoch: int) -> torch.Generator:
        g = torch.Generator()
        g.manual_seed((self.seed * 1_000_003 + epoch) * 997 + self.dist.rank + 1)
        return g

    # -- checkpoints ---------------------------------------------------------------------
    def _state(self) -> dict:
        return {
            "model": _unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "epoch": self.epoch, "step": self.step_in_epoch, "partial": dict(self._partial),
            "aug_state": self._aug_state, "history": self.history, "best": self.best, "wall": self.wall,
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
            "config": self.cfg, "data": self.data_key, "classes": self.class_names,
        }

    def _save(self, name: str) -> None:
        if self.dist.is_main:
            save_atomic(self._state(), self.run_dir / name)

    def load(self, path: Path, allow_change: tuple[str, ...] | list[str] = ()) -> list[str]:
        """Restore the training state of ``path``. Its configuration must match this trainer's,
        but for keys that only affect evaluation and those in ``allow_change`` (see
        :func:`~wavenets.train._rundir.resume_changes`); returns the changed keys it accepted."""
        ck = load_checkpoint(path)
        changed = resume_changes(ck.get("config") or self.cfg, self.cfg, allow_change)
        if ck.get("data", self.data_key) != self.data_key:
            raise ConfigError(f"--resume: {path} was trained on other data than this run reads now (data fingerprint "
                              f"{ck['data']}, now {self.data_key}): the files under the data root changed, or "
                              f"another --data-root was given. Resume with the data it was trained on, or train "
                              f"anew with --force")
        if ck["epoch"] > self.epochs:
            raise ConfigError(f"--resume: {path} has trained {ck['epoch']} epochs already, more than train.epochs = "
                              f"{self.epochs}")
        _unwrap(self.model).load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        if self.scheduler is not None and ck["scheduler"] is not None:
            self.scheduler.load_state_dict(ck["scheduler"])
        self.epoch, self.step_in_epoch, self._partial = ck["epoch"], ck["step"], ck["partial"]
        self._aug_state, self.history, self.best, self.wall = ck["aug_state"], ck["history"], ck["best"], ck["wall"]
        torch.set_rng_state(ck["rng"]["torch"])
        np.random.set_state(ck["rng"]["numpy"])
        random.setstate(ck["rng"]["python"])
        if ck["rng"]["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ck["rng"]["cuda"])
        if "train.epochs" in changed and isinstance(self.scheduler, torch.optim.lr_scheduler.CosineAnnealingLR):
            self._stretch_cosine()
        return changed

    def _stretch_cosine(self) -> None:
        """Re-aim the restored cosine schedule at the new ``train.epochs``: the learning rate is
        set to the cosine of the new length at the current epoch, and decays to zero at the end."""
        sched, t = self.scheduler, max(1, self.epochs)
        sched.T_max = t
        for group, base in zip(self.optimizer.param_groups, sched.base_lrs):
            group["lr"] = sched.eta_min + (base - sched.eta_min) * (1 + math.cos(math.pi * self.epoch / t)) / 2
        sched._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    # -- loops ---------------------------------------------------------------------------
    def _train_epoch(self) -> dict:
        tqdm = need("tqdm.auto", "train", "training").tqdm

        epoch = self.epoch
        batches = self._epoch_batches(epoch)
        gen = self._aug_generator(epoch)
        if self.step_in_epoch and self._aug_state is not None:
            gen.set_state(self._aug_state)
        self.model.train()
        bar = tqdm(total=len(batches), initial=self.step_in_epoch, desc=f"epoch {epoch + 1}/{self.epochs}",
                   disable=True if (self.quiet or not self.dist.is_main) else None, leave=False)
        try:
            source = self._source(self.train_set, untransformed=not self.task.augmenting)
            stream = self._stream(source, batches[self.step_in_epoch:])
            for step, (images, labels) in zip(range(self.step_in_epoch, len(batches)), stream):
                x = self.task.prepare(images, gen)
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                    logits = self.model(x)
                loss = self.task.loss(logits, labels) + self._level_loss(labels)
                if self.cfg["train"]["wavelet_loss"]:
                    loss = loss + self.cfg["train"]["wavelet_loss"] * wavelet_loss(_unwrap(self.model))
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingError(
                        f"loss is {value} at epoch {epoch + 1}, step {step + 1} of {len(batches)}; nothing after the "
                        f"last checkpoint ({self.run_dir / 'last.pt'}) was saved. Lower optim.lr, set "
                        "train.grad_clip, or check the inputs for NaNs")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.cfg["train"]["grad_clip"]:
                    nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg["train"]["grad_clip"])
                self.optimizer.step()
                n = len(labels)
                self._partial["loss"] += value * n
                self._partial["correct"] += self.task.correct(logits, labels)
                self._partial["seen"] += n
                self.step_in_epoch = step + 1
                self._aug_state = gen.get_state()
                bar.update(1)
                bar.set_postfix(loss=f"{self._partial['loss'] / self._partial['seen']:.3f}")
                if self.on_step is not None:
                    self.on_step(epoch, step)
        finally:
            bar.close()
        seen = max(1, self._partial["seen"])
        return {"train_loss": self._partial["loss"] / seen, "train_acc": self._partial["correct"] / seen}

    def _level_loss(self, labels: torch.Tensor) -> torch.Tensor | float:
        """Deep supervision: a model that leaves ``level_outputs = (logits [B, n, K], exists [B, n])``
        after a training forward (MNet's ``window_vote``: one prediction per octave level it read,
        and which of them the clip has) has each existing one fitted to its clip's label too, the
        mean over them added to the loss; 0 otherwise."""
        model = _unwrap(self.model)
        outputs = getattr(model, "level_outputs", None)
        if outputs is None:
            return 0.0
        model.level_outputs = None
        logits, exists = outputs
        rows = exists.nonzero(as_tuple=True)[0]  # the clip of each existing level, in logits[exists]'s order
        return self.task.loss(logits[exists], labels[rows]) if len(rows) else 0.0

    @torch.no_grad()
    def evaluate(self, dataset, params=None) -> dict[float, dict[str, float]]:
        """Metrics of the current model on ``dataset``, once per parameter of the task's evaluation
        transform (rotation in degrees, magnification or time-stretch factor); default: the identity."""
        self.model.eval()
        bs = int(self.cfg["train"]["eval_batch_size"])
        identity = self.transform.identity
        params = [identity] if params is None else params
        turns = rotation_angles(self.eval_rotation, len(dataset))
        out = {}
        for param in params:
            logits, labels = [], []
            batches = list(torch.arange(len(dataset)).split(bs))
            source = self._source(dataset, untransformed=float(param) == identity and turns is None)
            for idx, (inputs, y) in zip(batches, self._stream(source, batches)):
                turn = None if turns is None else turns[idx]
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                    logits.append(self.model(self.task.prepare(inputs, None, float(param), turn)).float().cpu())
                labels.append(y.cpu())
            out[float(param)] = self.task.metrics(torch.cat(logits), torch.cat(labels))
        return out

    def fit(self, *, resume: bool = False, allow_change: tuple[str, ...] | list[str] = ()) -> dict:
        """Train to ``train.epochs``; returns the final results (also in ``results.json``).

        ``resume``: continue from ``last.pt``, which must exist and have been trained with this
        configuration (``allow_change``: the keys that may differ, see :meth:`load`)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._best_loaded = False  # training moves the weights off best.pt
        last = self.run_dir / "last.pt"
        if resume:
            if not last.exists():
                raise ConfigError(f"--resume: {last} not found, so there is nothing to resume; train without "
                                  f"--resume (add --force to replace what {self.run_dir} holds)")
            changed = self.load(last, allow_change)
            if changed and self.dist.is_main:
                write_json(self.run_dir / "config.json", self.cfg)
            self._log(f"resumed from {last}: epoch {self.epoch + 1}, step {self.step_in_epoch}"
                      + (f"; accepted changes: {', '.join(changed)}" if changed else ""))
        elif self.dist.is_main:
            write_json(self.run_dir / "config.json", self.cfg)
        self._log(f"{self.cfg['name']}: {type(_unwrap(self.model)).__name__} with {_unwrap(self.model).group!r}, "
                  f"{self.params:,} parameters, {len(self.train_index)} training {'clips' if self.task.kind == 'audio' else 'images'}, device {self.device}"
                  + (f", {self.dist.world_size} processes" if self.dist.enabled else ""))
        try:
            while self.epoch < self.epochs:
                t0 = time.perf_counter()
                train = self._train_epoch()
                val = next(iter(self.evaluate(self.val_set).values()))
                lr = self.optimizer.param_groups[0]["lr"]
                if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    self.scheduler.step(val["loss"])
                elif self.scheduler is not None:
                    self.scheduler.step()
                self.wall += time.perf_counter() - t0
                row = {"epoch": self.epoch + 1, **train, **{f"val_{k}": v for k, v in val.items() if k != "nll"},
                       "lr": lr, "wall_s": round(self.wall, 2)}
                self.history.append(row)
                improved = val[self.task.select] > self.best["score"]
                if improved:
                    self.best = {"epoch": self.epoch + 1, "score": val[self.task.select]}
                self.epoch, self.step_in_epoch = self.epoch + 1, 0
                self._partial, self._aug_state = {"loss": 0.0, "correct": 0, "seen": 0}, None
                self._save("last.pt")
                if improved:
                    self._save("best.pt")
                if self.dist.is_main:
                    write_metrics(self.history, self.run_dir)
                    plot_curves(self.history, self.run_dir / "curves.png", title=self.cfg["name"])
                self._log(f"epoch {row['epoch']}/{self.epochs}  train loss {row['train_loss']:.4f} acc "
                          f"{row['train_acc']:.3f} | val loss {row['val_loss']:.4f} acc {row['val_acc']:.3f} "
                          f"auc {row['val_auc']:.3f} | lr {lr:.2e} | {self.wall:.1f} s")
        except KeyboardInterrupt:
            self._save("last.pt")
            raise Interrupted(f"interrupted at epoch {self.epoch + 1}, step {self.step_in_epoch}; state saved to "
                              f"{last}. Resume with the same command and --resume") from None
        return self.finish()

    def load_best(self) -> None:
        """Load ``best.pt`` into the model (once; :meth:`finish` loads it too)."""
        if not self._best_loaded:
            _unwrap(self.model).load_state_dict(load_checkpoint(self.run_dir / "best.pt")["model"])
            self._best_loaded = True

    def finish(self) -> dict:
        """Evaluate the best checkpoint on the test set (at the task's parameters: ``eval.rotations``,
        ``eval.zooms`` or ``eval.scales``) and report."""
        best_path = self.run_dir / "best.pt"
        if best_path.exists():
            self._best_loaded = False
            self.load_best()
        test = self.evaluate(self.test_set, self.task.params)
        results = {"name": self.cfg["name"], "params": self.params, "best_epoch": self.best["epoch"],
                   "eval_transform": self.transform.name, "eval_rotation": self.eval_rotation, "select": self.task.select,
                   "best_val_score": self.best["score"], "wall_s": round(self.wall, 2),
                   "test": {str(a): m for a, m in test.items()}, "device": str(self.device), "data": self.data_key,
                   "classes": self.class_names, "versions": versions()}
        if self.dist.is_main:
            write_json(self.run_dir / "results.json", results)
            write_summary(self.cfg, results, self.history, self.run_dir)
            ref = test.get(self.transform.identity, next(iter(test.values())))
            self._log(f"test (best epoch {self.best['epoch']}): acc {ref['acc']:.4f} auc {ref['auc']:.4f} "
                      f"nll {ref['nll']:.4f}; report in {self.run_dir / 'summary.md'}")
        return results

    def _log(self, msg: str) -> None:
        if self.dist.is_main and not self.quiet:
            print(msg, flush=True)


def read_batch(dataset, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, labels)`` of the indices ``idx`` on the CPU: the dataset's own ``batch`` where it
    has one (waveforms, PCam), a slice of in-memory images, or item by item."""
    if hasattr(dataset, "batch"):
        return dataset.batch(idx)
    if hasattr(dataset, "images"):
        return dataset.images[idx], torch.from_numpy(dataset.labels[idx.numpy()])
    items = [dataset[int(i)] for i in idx]
    return torch.stack([a for a, _ in items]), torch.tensor([b for _, b in items])


class _Batches(torch.utils.data.Dataset):
    """Item ``i``: batch ``i`` of a fixed list of index batches (what a DataLoader worker reads)."""

    def __init__(self, dataset, batches: list[torch.Tensor]):
        self.dataset, self.batches = dataset, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        return read_batch(self.dataset, self.batches[i])
