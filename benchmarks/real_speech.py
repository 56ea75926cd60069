"""A held-out check on real speech: which voice speaks, trained at ×1, tested at tape speeds.
``python -m benchmarks.real_speech --root DIR [--recipes R1,R2] [--seeds 0,1,2] [--min-clips 70]
[--runs-dir runs/real_speech] [--set KEY=VALUE ...] [--whole]``.

``DIR`` holds one folder of recordings per speaker (``DIR/<speaker>/*.ogg|wav|flac``); folders
with fewer than ``--min-clips`` files are left out. Debian's ``ktuberling-data`` is such a tree of
real, single-speaker recordings (spoken words, one voice per language, 44.1 kHz Ogg Vorbis or WAV):
``apt-get download ktuberling-data && dpkg -x ktuberling-data_*.deb kt`` gives
``kt/usr/share/ktuberling/sounds``, where 12 voices have 70 clips or more (1,526 clips).

Every clip is mixed to mono, resampled to 8 kHz (soxr, high quality), centre-cropped or
zero-padded to 8,192 samples and peak-normalised: the embedded sounds' clip format, so the
sounds recipes run unchanged (``data.name`` is swapped). Each speaker's files are split 60/20/20
into train / val / test by a seeded shuffle; the split is cached as ``speech.npz`` in
``--runs-dir``. Each recipe is trained at ×1 per seed (a finished run is reused) and its best
checkpoint is tested on its ``eval.scales`` (``time_stretch``: band-limited, cropped to 1 s).
Prints mean ± sd over seeds (markdown) with the wall time of a run. ``--whole`` also scores the
same checkpoints on each test clip at its new length (``time_stretch(..., keep_length=False)``:
a slowed word whole, a faster one not padded), which separates what the network loses at a tape
speed from what the fixed 1 s window takes away.

Telling voices apart reads absolute pitch and formants, which a tape-speed change moves and a
scale-invariant network cannot tell from a different voice; it is a harder test of the scale
readouts than a task whose label does not depend on scale (spoken words), not a substitute.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import torch

from wavenets._io import atomic_open
from wavenets.data import DATASETS, time_stretch
from wavenets.data._audio import AudioDataset, fit_length
from wavenets.data._audio_files import load_audio
from wavenets.data._base import check_split

from ._report import mean_sd
from .noise_floor import predicted, trained

RATE, LENGTH = 8000, 8192
SUFFIXES = (".ogg", ".wav", ".flac")


def build(root: Path, out: Path, min_clips: int, seed: int = 0) -> list[str]:
    """Write ``out`` (npz: ``{split}_waves [N, 1, LENGTH]``, ``{split}_labels``, ``speakers``) from
    the speaker folders of ``root``; returns the speakers kept."""
    folders = sorted(d for d in root.iterdir() if d.is_dir())
    files = {d.name: sorted(f for f in d.iterdir() if f.suffix.lower() in SUFFIXES) for d in folders}
    speakers = [s for s, fs in files.items() if len(fs) >= min_clips]
    if len(speakers) < 2:
        counts = ", ".join(f"{s}: {len(fs)}" for s, fs in files.items()) or "no folders"
        raise SystemExit(f"{root} needs at least 2 speaker folders with >= {min_clips} audio files "
                         f"({'/'.join(SUFFIXES)}); found {counts}. Lower --min-clips or check --root")
    rng = np.random.default_rng(seed)
    splits = {s: ([], []) for s in ("train", "val", "test")}
    for label, speaker in enumerate(speakers):
        order = rng.permutation(len(files[speaker]))
        a, b = int(0.6 * len(order)), int(0.8 * len(order))
        for split, part in (("train", order[:a]), ("val", order[a:b]), ("test", order[b:])):
            for i in part:
                clip = fit_length(torch.from_numpy(load_audio(files[speaker][i], RATE)), LENGTH).numpy()
                splits[split][0].append(clip / max(float(np.abs(clip).max()), 1e-12) * np.float32(0.5))
                splits[split][1].append(label)
    arrays = {"speakers": np.array(speakers)}
    for split, (waves, labels) in splits.items():
        arrays[f"{split}_waves"] = np.stack(waves)[:, None]
        arrays[f"{split}_labels"] = np.array(labels)
    with atomic_open(out, "wb") as f:
        np.savez(f, **arrays)
    return speakers


def register(cache: Path) -> int:
    """Make ``data.name = "speech_folder"`` read ``cache``; returns the number of speakers."""
    data = np.load(cache)

    class SpeechFolder(AudioDataset):
        name, sample_rate, LENGTH = "speech_folder", RATE, LENGTH
        num_classes = len(data["speakers"])

        def __init__(self, split: str = "train", root=None):
            split = check_split(split)
            super().__init__(data[f"{split}_waves"], data[f"{split}_labels"])

    DATASETS["speech_folder"] = SpeechFolder
    return SpeechFolder.num_classes


def run(recipe: str, seed: int, runs_dir: Path, overrides: list[str], whole: bool = False) -> dict:
    """The recipe's test results on the speech folder (trained first unless finished); with
    ``whole``, also ``"whole": {scale: accuracy}`` on the test clips at their new length."""
    trainer = trained(recipe, seed, runs_dir, None, ["data.name=speech_folder", *overrides])
    results = json.loads((trainer.run_dir / "results.json").read_text())
    if whole:
        x, y = torch.as_tensor(trainer.test_set.waves), torch.as_tensor(trainer.test_set.labels)
        results["whole"] = {}
        for scale in results["test"]:
            pred = predicted(trainer.model, time_stretch(x, float(scale), keep_length=False), 64)
            results["whole"][scale] = float((pred == y).float().mean())
    return results


def row(recipe: str, accs: list[list[float]], wall: float) -> str:
    """A table row: mean ± sd over seeds at each scale (``accs``: seeds × scales), of the mean over
    scales, and the mean wall time of a run."""
    return (f"| {recipe} | " + " | ".join(mean_sd(list(v)) for v in zip(*accs))
            + f" | {mean_sd([statistics.mean(a) for a in accs])} | {wall:.0f} |")


def table(rows: list[str], scales: list[str]) -> str:
    head = "| recipe | " + " | ".join(f"×{float(s):g}" for s in scales) + " | mean | s / run |"
    return "\n".join([head, "|---|" + "---|" * (len(scales) + 2)] + rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.real_speech", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="one folder of recordings per speaker")
    parser.add_argument("--recipes", default="sounds_wnet_pyramid_vote,sounds_wnet_pyramid,sounds_mnet,sounds_mnet_aug")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--min-clips", type=int, default=70, help="leave out speakers with fewer recordings")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/real_speech"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe override for every run (repeatable)")
    parser.add_argument("--whole", action="store_true", help="also score each test clip at its new length "
                        "(nothing cropped or padded)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a folder; it should hold one folder of recordings per speaker")
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    cache = args.runs_dir / "speech.npz"
    if not cache.exists():
        print(f"speakers: {', '.join(build(args.root, cache, args.min_clips))}", flush=True)
    speakers = register(cache)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, whole_rows, scales = [], [], None
    for recipe in args.recipes.split(","):
        results = [run(recipe, s, args.runs_dir, args.overrides, args.whole) for s in seeds]
        scales = scales or list(results[0]["test"])
        wall = statistics.mean(r["wall_s"] for r in results)
        rows.append(row(recipe, [[r["test"][s]["acc"] for s in scales] for r in results], wall))
        print(rows[-1], flush=True)
        if args.whole:
            whole_rows.append(row(recipe, [[r["whole"][s] for s in scales] for r in results], wall))
    print(f"\n{speakers} speakers, {len(seeds)} seeds, trained at ×1, accuracy at each tape speed\n")
    print(table(rows, scales))
    if args.whole:
        print("\nThe same checkpoints on each test clip at its new length (nothing cropped or padded)\n")
        print(table(whole_rows, scales))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
