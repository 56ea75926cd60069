"""Spoken digits by many synthetic speakers, in Speech Commands' layout, for ``real_speech --task words``.
``python -m benchmarks.synth_words --out DIR [--renditions 3] [--speakers N] [--seed 0]``.

No multi-speaker speech corpus can be downloaded here. This writes ``DIR/<word>/<speaker>_nohash_<n>.wav``
for the ten digits "zero" … "nine", spoken by:
- eSpeak NG (Debian ``espeak-ng``), every English accent it has × its voice variants (``m1`` … ``m7``,
  ``f1`` … ``f4``, ``klatt``, ``croak`` …): formant synthesis, 22.05 kHz;
- Festival (Debian ``festival``, ``festvox-kallpc16k``, ``festvox-kdlpc16k``, ``festvox-us-slt-hts``)
  when installed: two diphone voices cut from real recordings and one HTS voice, 16 / 48 kHz.

Each speaker says each word ``--renditions`` times at a speaking rate and pitch drawn per rendition
(eSpeak: 120–210 words per minute, pitch 25–75 of 0–99; Festival: duration ×0.8–×1.25). A speaking
rate changes duration only; a tape speed, which the check applies afterwards, moves pitch and formants
too. The label (the word) does not depend on the voice, unlike ``real_speech``'s speaker task.

It is synthetic speech, a proxy for a corpus such as Speech Commands or the Free Spoken Digit Dataset,
not a substitute: the speakers are rules, and their variation is narrower than people's.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
           "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "klatt", "croak")
FESTIVAL = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")


def speakers() -> list[tuple[str, str, str]]:
    """``(speaker id, engine, voice)`` for every installed engine; ids have no ``_``."""
    out = []
    if shutil.which("espeak-ng"):
        out += [(f"es-{a}-{v}", "espeak-ng", f"{a}+{v}") for a in ACCENTS for v in VARIANTS]
    if shutil.which("text2wave"):
        voices = {p.name for p in Path("/usr/share/festival/voices").glob("*/*")}
        out += [(f"fv-{v.replace('_', '-')}", "festival", v) for v in FESTIVAL if v in voices]
    return out


def say(engine: str, voice: str, word: str, path: Path, rng: np.random.Generator) -> None:
    """Write ``word`` spoken by ``voice`` to ``path`` (wav), at a rate and pitch drawn from ``rng``."""
    tmp = path.with_suffix(".tmp.wav")
    if engine == "espeak-ng":
        cmd = ["espeak-ng", "-v", voice, "-s", str(int(rng.integers(120, 211))), "-p", str(int(rng.integers(25, 76))),
               "-w", str(tmp), word]
        subprocess.run(cmd, check=True, capture_output=True)
    else:
        stretch = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
        cmd = ["text2wave", "-o", str(tmp), "-eval", f"(voice_{voice})",
               "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]
        subprocess.run(cmd, input=word.encode(), check=True, capture_output=True)
    tmp.replace(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synth_words", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write <word>/<speaker>_nohash_<n>.wav to")
    parser.add_argument("--renditions", type=int, default=3, help="times each speaker says each word")
    parser.add_argument("--speakers", type=int, default=None, help="only the first N speakers (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    voices = speakers()[:args.speakers]
    if not voices:
        raise SystemExit("neither espeak-ng nor festival's text2wave is on PATH; install Debian's espeak-ng "
                         "(and festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)")
    jobs = []
    for k, (speaker, engine, voice) in enumerate(voices):
        for w, word in enumerate(WORDS):
            (args.out / word).mkdir(parents=True, exist_ok=True)
            for n in range(args.renditions):
                rng = np.random.default_rng([args.seed, k, w, n])
                path = args.out / word / f"{speaker}_nohash_{n}.wav"
                if not path.exists():
                    jobs.append((engine, voice, word, path, rng))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda job: say(*job), jobs))
    lists = write_split_lists(args.out)
    print(f"{len(voices)} speakers × {len(WORDS)} words × {args.renditions} in {args.out} ({len(jobs)} written); "
          f"speaker-independent split lists: {', '.join(f'{n} ({c} files)' for n, c in lists.items())}")
    return 0


def write_split_lists(root: Path) -> dict[str, int]:
    """Speech Commands' ``validation_list.txt`` and ``testing_list.txt`` for the clips under
    ``root``: its speakers cut 60/20/20 as ``real_speech`` cuts them without lists (seed 0), so
    the ``real_speech`` words task reads the same split either way and the datasets
    ``speech_commands`` / ``sc09`` read it too. Returns ``{list: number of files}``."""
    from wavenets._io import atomic_open

    from .real_speech import speaker_of, speaker_splits

    files = sorted(f.relative_to(root).as_posix() for f in root.glob("*/*.wav") if not f.parent.name.startswith("_"))
    split = speaker_splits(sorted({speaker_of(Path(f)) for f in files}), np.random.default_rng(0))
    counts = {}
    for name, which in (("validation_list.txt", "val"), ("testing_list.txt", "test")):
        listed = [f for f in files if split[speaker_of(Path(f))] == which]
        with atomic_open(root / name, "w") as out:
            out.write("".join(f + "\n" for f in listed))
        counts[name] = len(listed)
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
