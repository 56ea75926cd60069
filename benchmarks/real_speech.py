"""A held-out check on speech: which voice speaks, or which word is said, trained at ×1, tested at tape speeds.
``python -m benchmarks.real_speech --root DIR [--task speaker|words] [--recipes R1,R2] [--seeds 0,1,2]
[--min-clips 70] [--runs-dir runs/real_speech] [--set KEY=VALUE ...] [--whole]``.

``--task speaker`` (the default): ``DIR`` holds one folder of recordings per speaker
(``DIR/<speaker>/*.ogg|wav|flac``); folders with fewer than ``--min-clips`` files are left out, and
each speaker's files are split 60/20/20 into train / val / test by a seeded shuffle. Debian's
``ktuberling-data`` is such a tree of real, single-speaker recordings (spoken words, one voice per
language, 44.1 kHz Ogg Vorbis or WAV): ``apt-get download ktuberling-data && dpkg -x
ktuberling-data_*.deb kt`` gives ``kt/usr/share/ktuberling/sounds``, where 12 voices have 70 clips or
more (1,526 clips). Telling voices apart reads absolute pitch and formants, which a tape-speed
change moves and a scale-invariant network cannot tell from a different voice.

``--task words``: Speech Commands' layout, ``DIR/<word>/<speaker>_nohash_<n>.wav`` (folders starting
with ``_`` are not words); the speaker is a file name's part before its first ``_``. The split
keeps every speaker in one of train / val / test: Speech Commands' own ``validation_list.txt`` and
``testing_list.txt`` when ``DIR`` has them, else the speakers shuffled and cut 60/20/20. The label
does not depend on the voice. ``python -m benchmarks.synth_words --out DIR`` writes such a tree
of spoken digits by 107 synthetic speakers.

Every clip is mixed to mono, resampled to 8 kHz (soxr, high quality), centre-cropped or
zero-padded to 8,192 samples and peak-normalised: the embedded sounds' clip format, so the
sounds recipes run unchanged (``data.name`` is swapped). The data are cached as ``speech.npz``
(speaker task) or ``words.npz`` in ``--runs-dir``. Each recipe is trained at ×1 per seed (a
finished run is reused while the recipe still gives its configuration) and its best checkpoint
is tested on its ``eval.scales`` (``time_stretch``: band-limited, cropped to 1 s). Prints mean ±
sd over seeds (markdown) with the wall time of a run. ``--whole`` also scores the same
checkpoints on each test clip at its new length (``time_stretch(..., keep_length=False)``: a
slowed word whole, a faster one not padded), which separates what the network loses at a tape
speed from what the fixed 1 s window takes away.
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
from wavenets.data._audio_files import SpeechCommands, load_audio
from wavenets.data._base import check_split

from ._report import mean_sd
from .noise_floor import predicted, trained

RATE, LENGTH = 8000, 8192
SUFFIXES = (".ogg", ".wav", ".flac")


def _class_files(root: Path, min_clips: int, task: str) -> tuple[list[str], dict]:
    """The classes of ``root``, its folders with ``>= min_clips`` audio files, and ``{class: [file,
    ...]}``: speakers (``task="speaker"``) or words (``"words"``: Speech Commands' layout, where
    folders starting with ``_``, such as ``_background_noise_``, are not words)."""
    words = task == "words"
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not (words and d.name.startswith("_")))
    files = {d.name: sorted(f for f in d.iterdir() if f.suffix.lower() in SUFFIXES) for d in folders}
    classes = [c for c, fs in files.items() if len(fs) >= min_clips]
    if len(classes) < 2:
        counts = ", ".join(f"{c}: {len(fs)}" for c, fs in files.items()) or "no folders"
        what = "word folders (<word>/<speaker>_nohash_<n>.wav)" if words else "speaker folders"
        raise SystemExit(f"{root} needs at least 2 {what} with >= {min_clips} audio files ({'/'.join(SUFFIXES)}); "
                         f"found {counts}. Lower --min-clips or check --root")
    return classes, {c: files[c] for c in classes}


def speaker_of(path: Path) -> str:
    """The speaker of a Speech Commands file, ``<speaker>_nohash_<n>.wav``: the name up to its first
    ``_`` (the whole stem when there is none)."""
    return path.stem.split("_", 1)[0]


def _split_words(root: Path, files: dict, rng: np.random.Generator) -> dict:
    """``{file: split}`` with no speaker in two splits: Speech Commands' own ``validation_list.txt``
    and ``testing_list.txt`` when ``root`` has them (paths relative to ``root``), else the speakers
    shuffled and cut 60/20/20."""
    listed = SpeechCommands.listed_splits(root)
    every = [f for fs in files.values() for f in fs]
    if listed:
        return {f: listed.get(f.relative_to(root).as_posix(), "train") for f in every}
    speakers = sorted({speaker_of(f) for f in every})
    if len(speakers) < 3:
        raise SystemExit(f"{root} has {len(speakers)} speaker(s) ({', '.join(speakers)}); a speaker-independent "
                         "split needs 3 or more (file names <speaker>_nohash_<n>.wav)")
    of = speaker_splits(speakers, rng)
    return {f: of[speaker_of(f)] for f in every}


def speaker_splits(speakers: list[str], rng: np.random.Generator) -> dict[str, str]:
    """``{speaker: "train" | "val" | "test"}``: ``speakers`` (sorted, 3 or more) shuffled by ``rng``
    and cut 60/20/20, each split holding at least one."""
    order = rng.permutation(len(speakers))
    a, b = max(1, int(0.6 * len(order))), max(2, int(0.8 * len(order)))
    return {speakers[i]: split for split, part in (("train", order[:a]), ("val", order[a:b]), ("test", order[b:]))
            for i in part}


def build(root: Path, out: Path, min_clips: int, seed: int = 0, task: str = "speaker") -> list[str]:
    """Write ``out`` (npz: ``{split}_waves [N, 1, LENGTH]``, ``{split}_labels``, ``speakers`` (the
    class names: speakers, or words with ``task="words"``)) from ``root``; returns the classes.
    ``task="speaker"`` splits each speaker's files 60/20/20; ``task="words"`` keeps every speaker in
    one split (``_split_words``)."""
    classes, files = _class_files(root, min_clips, task)
    rng = np.random.default_rng(seed)
    if task == "words":
        split_of = _split_words(root, files, rng)
    else:
        split_of = {}
        for name in classes:
            order = rng.permutation(len(files[name]))
            a, b = int(0.6 * len(order)), int(0.8 * len(order))
            for split, part in (("train", order[:a]), ("val", order[a:b]), ("test", order[b:])):
                split_of.update({files[name][i]: split for i in part})
    label_of = {path: label for label, name in enumerate(classes) for path in files[name]}
    splits = {s: ([], []) for s in ("train", "val", "test")}
    for path, split in split_of.items():  # in split_of's order: a speaker's files as its shuffle drew them
        clip = fit_length(torch.from_numpy(load_audio(path, RATE)), LENGTH).numpy()
        splits[split][0].append(clip / max(float(np.abs(clip).max()), 1e-12) * np.float32(0.5))
        splits[split][1].append(label_of[path])
    empty = [split for split, (waves, _) in splits.items() if not waves]
    if empty:
        raise SystemExit(f"{root}: no clips in the {' and '.join(empty)} split(s); add speakers or files")
    arrays = {"speakers": np.array(classes)}
    for split, (waves, labels) in splits.items():
        arrays[f"{split}_waves"] = np.stack(waves)[:, None]
        arrays[f"{split}_labels"] = np.array(labels)
    with atomic_open(out, "wb") as f:
        np.savez(f, **arrays)
    return classes


def register(cache: Path, name: str = "speech_folder") -> int:
    """Make ``data.name = name`` read ``cache``; returns the number of classes."""
    data = np.load(cache)

    class SpeechFolder(AudioDataset):
        """Recordings from speaker folders, one class per speaker, as cached by this benchmark."""

        sample_rate, LENGTH = RATE, LENGTH
        num_classes = len(data["speakers"])

        def __init__(self, split: str = "train", root=None):
            split = check_split(split)
            super().__init__(data[f"{split}_waves"], data[f"{split}_labels"])

    SpeechFolder.name = name
    SpeechFolder.class_names = property(lambda self: [str(s) for s in data["speakers"]])  # (predict's columns)
    DATASETS[name] = SpeechFolder
    return SpeechFolder.num_classes


def run(recipe: str, seed: int, runs_dir: Path, overrides: list[str], whole: bool = False,
        data: str = "speech_folder") -> dict:
    """The recipe's test results on the registered data set ``data`` (trained first unless
    finished); with ``whole``, also ``"whole": {scale: accuracy}`` on the test clips at their new
    length."""
    trainer = trained(recipe, seed, runs_dir, None, [f"data.name={data}", *overrides])
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
    parser.add_argument("--root", type=Path, required=True,
                        help="one folder of recordings per speaker (--task speaker) or per word (--task words)")
    parser.add_argument("--task", choices=("speaker", "words"), default="speaker",
                        help="speaker: which voice speaks, each voice's files split 60/20/20; words: which word "
                        "is spoken, Speech Commands' layout, no speaker in two splits")
    parser.add_argument("--recipes", default="sounds_wnet_pyramid,sounds_wnet_pyramid_vote,sounds_mnet,sounds_mnet_aug")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--min-clips", type=int, default=70, help="leave out classes with fewer recordings")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/real_speech"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe override for every run (repeatable)")
    parser.add_argument("--whole", action="store_true", help="also score each test clip at its new length "
                        "(nothing cropped or padded)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a folder; it should hold one folder of recordings per speaker")
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    cache, data = ((args.runs_dir / "speech.npz", "speech_folder") if args.task == "speaker"
                   else (args.runs_dir / "words.npz", "speech_words"))
    noun = "speakers" if args.task == "speaker" else "words"
    if not cache.exists():
        print(f"{noun}: {', '.join(build(args.root, cache, args.min_clips, task=args.task))}", flush=True)
    classes = register(cache, data)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, whole_rows, scales = [], [], None
    for recipe in args.recipes.split(","):
        results = [run(recipe, s, args.runs_dir, args.overrides, args.whole, data) for s in seeds]
        scales = scales or list(results[0]["test"])
        wall = statistics.mean(r["wall_s"] for r in results)
        rows.append(row(recipe, [[r["test"][s]["acc"] for s in scales] for r in results], wall))
        print(rows[-1], flush=True)
        if args.whole:
            whole_rows.append(row(recipe, [[r["whole"][s] for s in scales] for r in results], wall))
    print(f"\n{classes} {noun}, {len(seeds)} seeds, trained at ×1, accuracy at each tape speed\n")
    print(table(rows, scales))
    if args.whole:
        print("\nThe same checkpoints on each test clip at its new length (nothing cropped or padded)\n")
        print(table(whole_rows, scales))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
