"""``wavenets predict RUN INPUT...``: apply a trained run to your own images or recordings.

**Images.**
The patch classifiers are fully convolutional: run on a whole image, a network trained on
``R × R`` patches gives one prediction per ``R × R`` window, every ``s`` pixels (``s``: the product
of its pools), in one pass. ``predict`` writes, per image, ``<name>_probs.npy`` (``[classes, H', W']``
class probabilities; window ``(i, j)`` spans pixels ``[i·s, i·s + R)`` × ``[j·s, j·s + R)``) and
``<name>_heatmap.png`` (the image beside the probability of the last class, drawn over it).

The image is centre-cropped by ``(H − R) mod s`` (and likewise in width) so that the windows
tile it symmetrically; when both crops are even, turning the image by 90° turns a C4/C8 G-CNN's
map exactly (tested).

The magnification pyramids (:class:`~wavenets.models.PyramidPatchNet`) read the patch centre at
every octave level, so they are not fully convolutional: they classify the image window by
window, ``R × R`` patches of the size they were trained on (the data set's ``zoom_size``) every
``s`` pixels (``--stride``, default ``R // 8``), in batches. The outputs are the same files.

**Audio.** Each file (any format libsndfile reads) is downmixed to mono and resampled to the
run's rate, as in training, and cut into windows of the run's clip length every ``hop`` seconds
(default: one clip length; a file shorter than a clip is centre-padded, as training pads it).
The scores (softmax, or sigmoid for tagging) of every window go to ``scores.csv`` in the output
folder, and the table printed gives each file's mean scores' top classes.
"""
from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import torch

from ._extras import need
from ._io import atomic_open
from .train._task import AudioTask, ImageTask, task_class

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")


class PredictError(ValueError):
    """One input cannot be predicted (unreadable, wrong channels, too small); the message says why."""


def load_model(run, checkpoint: str = "best.pt", device: torch.device | None = None):
    """``(model in eval mode, config, dataset class, output names)`` of the run folder ``run`` (a
    RunDir). The names are those the run recorded in its checkpoint (ESC-50's categories,
    MagnaTagATune's tags), else the data set's ``CLASSES``, else ``class_<i>``."""
    from .data import DATASETS
    from .models import model_from_config
    from .train import load_checkpoint

    cfg = run.config()
    name = cfg["data"]["name"]
    cls = DATASETS.get(name)
    task = task_class(cls) if cls is not None else None
    if task is None or not (task is AudioTask or hasattr(cls, "mean")):
        raise PredictError(f"wavenets predict applies image and audio runs; {run.path} was trained on {name!r}")
    path = run / checkpoint
    if not path.exists():
        other = "last.pt" if checkpoint == "best.pt" else "best.pt"
        raise FileNotFoundError(f"{path} not found: the run has no {checkpoint} yet (a run writes best.pt at its first "
                                f"validation); train it further (--resume), or pass --checkpoint {other}")
    ck = load_checkpoint(path)
    state = ck["model"]
    first = next(v for k, v in state.items() if k.endswith("weight") and v.dim() >= 3)  # the first (lifting) conv
    model = model_from_config(cfg["model"], in_channels=int(first.shape[1]), num_classes=int(cls.num_classes),
                              default_preset=name, sample_rate=task.sample_rate(cls, cfg))
    model.load_state_dict(state)
    names = list(ck.get("classes") or getattr(cls, "CLASSES", ()) or [f"class_{i}" for i in range(cls.num_classes)])
    return model.to(device or torch.device("cpu")).eval(), cfg, cls, names


def read_image(path: Path, channels: int) -> np.ndarray:
    """``[H, W, channels]`` uint8 from a PNG / JPEG / TIFF / BMP file (RGB or grey as the run wants)."""
    Image = need("PIL.Image", "train", "reading images")
    try:
        with Image.open(path) as im:
            im.load()
            if channels == 3:
                arr = np.asarray(im.convert("RGB"))
            elif channels == 1:
                arr = np.asarray(im.convert("L"))[..., None]
            else:
                raise PredictError(f"{path}: the run takes {channels}-channel images; predict reads RGB or grey ones")
    except (OSError, SyntaxError) as err:
        raise PredictError(f"{path}: not a readable image ({err})") from None
    return arr


def _tiled(image: np.ndarray, window: int, stride: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """``([1, C, H″, W″] uint8, (top, left))``: ``image`` centre-cropped so that ``window`` px
    windows every ``stride`` px tile it exactly."""
    h, w = image.shape[:2]
    if h < window or w < window:
        raise PredictError(f"image is {h}×{w} px; the network reads {window}×{window} px windows, so it needs at least "
                           f"that")
    top, left = ((h - window) % stride) // 2, ((w - window) % stride) // 2
    hh, ww = h - (h - window) % stride, w - (w - window) % stride
    x = torch.from_numpy(np.ascontiguousarray(image[top:top + hh, left:left + ww].transpose(2, 0, 1)))[None]
    return x, (top, left)


def dense_probs(model, image: np.ndarray, mean, std, device: torch.device) -> tuple[np.ndarray, int, int, tuple]:
    """``(probs [classes, H', W'], window R, stride s, (top, left) crop)`` of a ``[H, W, C]`` uint8
    image: a fully convolutional classifier (``forward_dense``) on every window that fits, every
    ``s`` pixels (the product of its pools), in one pass."""
    from .data import normalize

    window, stride = model.window, model.stride
    x, crop = _tiled(image, window, stride)
    with torch.no_grad():
        logits = model.forward_dense(normalize(x.to(device), mean, std))
    return torch.softmax(logits.float(), 1)[0].cpu().numpy(), window, stride, crop


def window_probs(model, image: np.ndarray, window: int, stride: int, mean, std, device: torch.device, *,
                 batch: int = 256, progress: bool = False) -> tuple[np.ndarray, int, int, tuple]:
    """:func:`dense_probs` for a patch classifier that is not fully convolutional: ``model`` on
    every ``window × window`` patch of the image, every ``stride`` px, ``batch`` patches a call
    (a few rows of windows at a time; the patches are never all held at once). ``progress``: a
    progress bar over the rows of windows of a large image."""
    from .data import normalize

    _check_stride(model, stride)
    x, crop = _tiled(image, window, stride)
    x = normalize(x.to(device), mean, std)[0]  # [C, H″, W″]
    tiles = x.unfold(1, window, stride).unfold(2, window, stride)  # [C, rows, cols, R, R], a view
    rows, cols = tiles.shape[1:3]
    step = max(1, batch // cols)
    out = []
    tqdm = need("tqdm.auto", "train", "predicting").tqdm
    with torch.no_grad(), tqdm(total=rows * cols, desc="windows", unit="window", leave=False,
                               disable=not progress or rows <= 8 * step) as bar:
        for r in range(0, rows, step):
            patches = tiles[:, r:r + step].permute(1, 2, 0, 3, 4).reshape(-1, x.shape[0], window, window)
            out.append(torch.softmax(model(patches).float(), 1).cpu())
            bar.update(len(patches))
    probs = torch.cat(out).view(rows, cols, -1).permute(2, 0, 1)
    return probs.numpy(), window, stride, crop


def _check_stride(model, stride: int | None) -> None:
    """``--stride``, before any image is read: a positive number of pixels, and only for a
    network read window by window (a fully convolutional one has its own)."""
    if stride is None:
        return
    if not isinstance(stride, int) or stride < 1:
        raise PredictError(f"--stride is a positive number of pixels, got {stride!r}")
    if hasattr(model, "forward_dense") and stride != model.stride:
        raise PredictError(f"this network reads the whole image in one pass, one window every {model.stride} px "
                           f"(the product of its pools); --stride {stride} cannot change that: leave it out")


def image_probs(model, image: np.ndarray, cls, device: torch.device, stride: int | None = None,
                progress: bool = False) -> tuple[np.ndarray, int, int, tuple]:
    """:func:`dense_probs` for a fully convolutional network (its own stride), else
    :func:`window_probs` on patches of the size the run was trained on, every ``stride`` px
    (default: an eighth of the patch)."""
    _check_stride(model, stride)
    if hasattr(model, "forward_dense"):
        return dense_probs(model, image, cls.mean, cls.std, device)
    window = ImageTask.patch_size(cls, model)
    return window_probs(model, image, window, max(1, window // 8) if stride is None else stride, cls.mean, cls.std,
                        device, progress=progress)


def heatmap(image: np.ndarray, probs: np.ndarray, window: int, stride: int, crop: tuple, path: Path,
            title: str) -> Path:
    """The image beside the last class's probability drawn over it (each value covers its
    window's central ``s × s`` pixels)."""
    from .train._report import pyplot, save_figure

    plt = pyplot()
    p = probs[-1]
    top, left = crop[0] + (window - stride) // 2, crop[1] + (window - stride) // 2
    extent = (left - 0.5, left + p.shape[1] * stride - 0.5, top + p.shape[0] * stride - 0.5, top - 0.5)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
    for ax in axes:
        ax.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None)
        ax.set_axis_off()
    shown = axes[1].imshow(p, cmap="magma", alpha=0.6, vmin=0, vmax=1, extent=extent, interpolation="nearest")
    fig.colorbar(shown, ax=axes[1], fraction=0.046, label="probability of the positive class")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def expand_inputs(inputs: list[str], suffixes=IMAGE_SUFFIXES, what: str = "images") -> list[Path]:
    """Files as given, folders as their files with ``suffixes`` (sorted); a missing path or an
    empty folder is an error."""
    files = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in suffixes)
            if not found:
                raise PredictError(f"{p} holds no {what} ({', '.join(suffixes)})")
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p} not found")
    return files


def predict_images(loaded, inputs: list[str], out: Path, *, device: torch.device, skip_errors: bool = False,
                   quiet: bool = False, stride: int | None = None) -> int:
    """Heat maps and probability maps for every image in ``inputs``; ``loaded``: what
    :func:`load_model` returns; ``stride``: pixels between the windows of a network that is
    not fully convolutional (:func:`image_probs`). Returns the number of files that failed (0
    unless ``skip_errors``)."""
    tqdm = need("tqdm.auto", "train", "predicting").tqdm
    model, cfg, cls, _ = loaded
    _check_stride(model, stride)  # (a bad one would otherwise fail, or with --skip-errors skip, every image)
    files = expand_inputs(inputs)
    failed = 0
    for path in tqdm(files, desc="predict", unit="image", disable=quiet or len(files) < 2):
        try:
            start = time.perf_counter()
            image = read_image(path, int(model.in_channels))
            probs, window, step, crop = image_probs(model, image, cls, device, stride, progress=not quiet)
            out.mkdir(parents=True, exist_ok=True)  # (not before: a run that maps no image leaves no folder)
            with atomic_open(out / f"{path.stem}_probs.npy", "wb") as f:
                np.save(f, probs.astype(np.float32))
            heatmap(image, probs, window, step, crop, out / f"{path.stem}_heatmap.png",
                    f"{cfg['name']} on {path.name}: {probs.shape[1]}×{probs.shape[2]} windows of {window} px, "
                    f"every {step} px")
            print(f"{path}: {probs.shape[1]}×{probs.shape[2]} windows, mean positive probability "
                  f"{probs[-1].mean():.3f}, {time.perf_counter() - start:.1f} s -> {out / (path.stem + '_heatmap.png')}")
        except PredictError as err:
            if not skip_errors:
                raise
            failed += 1
            print(f"skipped {err}")
    if failed:
        print(f"{failed} of {len(files)} file(s) skipped")
    return failed


def predict(run, inputs: list[str], out: Path, *, checkpoint: str = "best.pt", device: torch.device,
            hop: float | None = None, stride: int | None = None, skip_errors: bool = False, quiet: bool = False) -> int:
    """:func:`predict_images` or :func:`predict_audio`, by the run's data."""
    loaded = load_model(run, checkpoint, device)
    if task_class(loaded[2]) is AudioTask:
        if stride is not None:
            raise PredictError("--stride spaces the windows of an image run; this is an audio run (use --hop)")
        return predict_audio(loaded, inputs, out, device=device, hop=hop, skip_errors=skip_errors, quiet=quiet)
    if hop is not None:
        raise PredictError("--hop cuts recordings into windows; this is an image run")
    return predict_images(loaded, inputs, out, device=device, skip_errors=skip_errors, quiet=quiet, stride=stride)


def audio_windows(wave: np.ndarray, length: int, hop: int) -> tuple[torch.Tensor, list[int]]:
    """``([W, 1, length] windows, their start samples)``: every ``hop`` samples while a whole
    window fits, plus one ending at the last sample; a recording shorter than ``length`` is one
    centre-padded window (start 0)."""
    from .data import fit_length

    x = torch.from_numpy(wave)
    if len(wave) <= length:
        return fit_length(x, length).view(1, 1, length), [0]
    starts = list(range(0, len(wave) - length + 1, hop))
    if starts[-1] != len(wave) - length:
        starts.append(len(wave) - length)
    return torch.stack([x[s:s + length] for s in starts])[:, None], starts


def predict_audio(loaded, inputs: list[str], out: Path, *, device: torch.device, hop: float | None = None,
                  skip_errors: bool = False, quiet: bool = False, batch: int = 64) -> int:
    """Scores per window of every recording in ``inputs`` into ``out/scores.csv``; ``loaded``:
    what :func:`load_model` returns. Windows of consecutive files are scored together, up to
    ``batch`` per call (one-second clips would otherwise go through the model one at a time);
    the columns are named as :func:`load_model` names the outputs. Returns the number of files
    that failed (0 unless ``skip_errors``)."""
    from .data import AudioDecodeError, load_audio

    tqdm = need("tqdm.auto", "train", "predicting").tqdm
    model, cfg, cls, names = loaded
    rate, length = cls.clip_format(cfg["data"].get("sample_rate"), cfg["data"].get("length"))
    if hop is not None and not hop > 0:
        raise PredictError(f"--hop is a positive number of seconds, got {hop}")
    step = max(1, int(round(hop * rate))) if hop else length
    files = expand_inputs(inputs, AUDIO_SUFFIXES, "recordings")
    rows, failed, summary = [], 0, []
    pending: list[tuple[Path, torch.Tensor, list[int]]] = []  # read, not yet scored: batched across files

    def score_pending() -> None:
        windows = torch.cat([w for _, w, _ in pending])
        with torch.no_grad():
            logits = torch.cat([model(w.to(device)).float().cpu() for w in windows.split(batch)])
        scores = torch.sigmoid(logits) if getattr(cls, "multilabel", False) else torch.softmax(logits, 1)
        for (path, _, starts), file_scores in zip(pending, scores.split([len(s) for _, _, s in pending])):
            for s, row in zip(starts, file_scores.tolist()):
                rows.append([str(path), f"{s / rate:.3f}", f"{(s + length) / rate:.3f}"] + [f"{v:.6f}" for v in row])
            mean = file_scores.mean(0)
            top = mean.argsort(descending=True)[:3].tolist()
            summary.append(f"{path}: {len(starts)} window(s); " + ", ".join(f"{names[i]} {mean[i]:.3f}" for i in top))
        pending.clear()

    for path in tqdm(files, desc="predict", unit="file", disable=quiet or len(files) < 2):
        try:
            windows, starts = audio_windows(load_audio(path, rate), length, step)
        except AudioDecodeError as err:
            if not skip_errors:
                raise PredictError(str(err)) from None
            failed += 1
            print(f"skipped {err}")
            continue
        pending.append((path, windows, starts))
        if sum(len(s) for _, _, s in pending) >= batch:
            score_pending()
    if pending:
        score_pending()
    out.mkdir(parents=True, exist_ok=True)
    with atomic_open(out / "scores.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "start_s", "end_s"] + names)
        writer.writerows(rows)
    for line in summary:
        print(line)
    print(f"{len(rows)} window(s) of {length / rate:g} s from {len(files) - failed} file(s) -> {out / 'scores.csv'}"
          + (f"; {failed} of {len(files)} file(s) skipped" if failed else ""))
    return failed
