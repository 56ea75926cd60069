"""Spoken digits by many synthetic speakers, in Speech Commands' layout, for ``real_speech --task words``.
``python -m benchmarks.synth_words --out DIR [--renditions 3] [--speakers N] [--seed 0] [--recorded
[--snr 10,40] [--reuse RAW]]``.

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

``--recorded`` writes every clip as Speech Commands' are: 1 s at 16 kHz, 16-bit, the word (its digital
silence trimmed) at a random place inside the second, at a random level, over a noise floor that fills
the whole clip (pink noise, ``--snr`` dB below the word's power, drawn per clip from the range). The
synthetic clips have exact digital silence around the word, which rules that read silence (the
``"active"`` time pooling, the ``empty_band`` test) meet at their best; recordings have none.
``--reuse RAW`` takes the synthesized words from a tree this command wrote before (same speakers,
same seed) instead of running the engines again.

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


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of unit-power pink (1/f power) noise: white noise shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=float)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(f), n)
    return noise / np.sqrt(np.mean(noise ** 2))


#: Speech Commands' clips: 1 s at 16 kHz
RECORDED_RATE = 16000


def as_recorded(word: np.ndarray, rng: np.random.Generator, snr_db: tuple[float, float] = (10.0, 40.0),
                rate: int = RECORDED_RATE, seconds: float = 1.0) -> np.ndarray:
    """A synthesized word (mono, at ``rate``) as a Speech Commands clip: its leading and trailing
    digital silence trimmed, placed at a random offset inside ``seconds`` (centre-cropped when
    longer), scaled to a peak level drawn from -20…-1 dBFS, over pink noise ``snr_db`` (drawn per
    clip) below the word's mean power. float32 in [-1, 1]."""
    word = np.asarray(word, dtype=np.float64)
    loud = np.flatnonzero(np.abs(word) > 1e-4 * max(np.abs(word).max(), 1e-12))
    word = word[loud[0]:loud[-1] + 1] if len(loud) else word
    n = int(round(seconds * rate))
    if len(word) > n:
        cut = (len(word) - n) // 2
        word = word[cut:cut + n]
    clip = np.zeros(n)
    at = int(rng.integers(0, n - len(word) + 1))
    clip[at:at + len(word)] = word
    power = np.mean(word ** 2)
    clip += pink_noise(n, rng) * np.sqrt(power * 10 ** (-rng.uniform(*snr_db) / 10))
    peak = 10 ** (rng.uniform(-20.0, -1.0) / 20)
    return (clip * peak / max(np.abs(clip).max(), 1e-12)).astype(np.float32)


def record(path: Path, rng: np.random.Generator, snr_db: tuple[float, float], raw: Path | None = None) -> None:
    """Rewrite the synthesized clip ``path`` (or read it from ``raw``) as :func:`as_recorded` (16-bit wav)."""
    import soundfile as sf

    from wavenets._io import atomic_open
    from wavenets.data import load_audio

    clip = as_recorded(load_audio(raw or path, RECORDED_RATE), rng, snr_db)
    with atomic_open(path, "wb") as f:
        sf.write(f, clip, RECORDED_RATE, subtype="PCM_16", format="WAV")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synth_words", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write <word>/<speaker>_nohash_<n>.wav to")
    parser.add_argument("--renditions", type=int, default=3, help="times each speaker says each word")
    parser.add_argument("--speakers", type=int, default=None, help="only the first N speakers (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recorded", action="store_true",
                        help="write clips like Speech Commands': 1 s at 16 kHz, the word at a random place, over noise")
    parser.add_argument("--snr", default="10,40", help="with --recorded: the noise floor's range, dB below the word "
                        "(default: 10,40)")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="with --recorded: read the synthesized words from this tree instead of synthesizing")
    args = parser.parse_args(argv)
    snr = tuple(float(v) for v in args.snr.split(","))
    if len(snr) != 2 or snr[0] > snr[1]:
        parser.error(f"--snr takes LOW,HIGH in dB (e.g. 10,40), got {args.snr!r}")
    if args.reuse is not None and not args.recorded:
        parser.error("--reuse reads synthesized words for --recorded; add --recorded")
    voices = speakers()[:args.speakers]
    if not voices:
        raise SystemExit("neither espeak-ng nor festival's text2wave is on PATH; install Debian's espeak-ng "
                         "(and festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)")
    jobs, recordings = [], []
    for k, (speaker, engine, voice) in enumerate(voices):
        for w, word in enumerate(WORDS):
            (args.out / word).mkdir(parents=True, exist_ok=True)
            for n in range(args.renditions):
                rng = np.random.default_rng([args.seed, k, w, n])
                path = args.out / word / f"{speaker}_nohash_{n}.wav"
                if path.exists():
                    continue
                raw = None if args.reuse is None else args.reuse / word / path.name
                if raw is None or not raw.exists():
                    jobs.append((engine, voice, word, path, rng))
                    raw = None
                if args.recorded:  # its own stream: the words are those of a run without --recorded
                    recordings.append((path, np.random.default_rng([args.seed, k, w, n, 1]), snr, raw))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda job: say(*job), jobs))
        list(pool.map(lambda job: record(*job), recordings))
    lists = write_split_lists(args.out)
    print(f"{len(voices)} speakers × {len(WORDS)} words × {args.renditions} in {args.out} ({len(jobs)} synthesized, "
          f"{len(recordings)} made recording-like); "
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
