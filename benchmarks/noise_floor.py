"""A held-out check of the scale readouts: a recording chain's noise floor added *after* the
tape-speed change. ``python -m benchmarks.noise_floor [--recipes R1,R2] [--seeds 0,1,2]
[--snr 60,40,20] [--runs-dir runs/noise_floor] [--epochs N] [--set KEY=VALUE ...]``.

Each recipe is trained at ×1 (or its finished run in ``--runs-dir`` is reused), then its best
checkpoint classifies the test set played at tape speeds ×0.5–×2 (``time_stretch``), clean and
with white noise at each ``--snr`` (dB below the clip's power) added to the changed clip.
Digital resampling leaves the top octave of a slowed clip empty, the cue the pyramid W-Net's
``empty_band`` rule reads; a floor above -60 dB, or 16-bit samples of a quiet clip (second
table), fills it. Prints mean ± sd over seeds (markdown), and per recipe with an
``empty_band`` the band-empty levels per clip at ×2.
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import torch

from wavenets.data import time_stretch
from wavenets.nn import empty_octaves
from wavenets.train import Trainer, load_recipe
from wavenets.train._rundir import RunDir, config_changes

from ._report import mean_sd

SCALES = (0.5, 0.707, 1.0, 1.414, 2.0)


def with_floor(x: torch.Tensor, snr_db: float | None, gen: torch.Generator) -> torch.Tensor:
    """``x: [B, 1, T]`` plus white noise ``snr_db`` below each clip's power (None: ``x``)."""
    if snr_db is None:
        return x
    power = x.pow(2).mean(-1, keepdim=True)
    return x + torch.randn(x.shape, generator=gen) * (power * 10 ** (-snr_db / 10)).sqrt()


def run_name(recipe: str, seed: int, epochs: int | None = None, extra: list[str] = ()) -> str:
    """``{recipe}_s{seed}``, with a digest of the overrides and the epochs where given
    (``{recipe}_{digest}_s{seed}_e{epochs}``), so that a finished run is reused only for the
    same recipe, overrides and epochs."""
    tag = f"_{hashlib.sha1(chr(10).join(sorted(extra)).encode()).hexdigest()[:8]}" if extra else ""
    return f"{recipe}{tag}_s{seed}" + (f"_e{epochs}" if epochs else "")


def trained(recipe: str, seed: int, runs_dir: Path, epochs: int | None, extra: list[str] = ()) -> Trainer:
    """The recipe's trainer with its best weights, trained first unless its run finished already
    (``extra``: recipe overrides), in ``runs_dir / run_name(...)``."""
    overrides = [f"train.seed={seed}", f"name={run_name(recipe, seed, epochs, extra)}"]
    overrides += [f"train.epochs={epochs}"] if epochs else []
    overrides += list(extra)
    cfg = load_recipe(recipe, overrides)
    run = runs_dir / cfg["name"]
    if (run / "results.json").exists():
        differ = [k for k in config_changes(RunDir.at(run).config(), cfg) if k != "name"]
        if differ:  # the recipe file changed since: its old run is not this configuration's
            raise SystemExit(f"{run} was trained with other values of {', '.join(differ)} than {recipe} now gives "
                             "(the recipe changed since?); move that folder away or pass another --runs-dir")
    trainer = Trainer(cfg, run, device=torch.device("cpu"), quiet=True)
    if not (run / "results.json").exists():
        trainer.fit()
    trainer.load_best()
    trainer.model.eval()
    return trainer


def predicted(model: torch.nn.Module, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """``[N]``: the model's class for every clip of ``x``, ``batch`` clips a call, no gradient."""
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])


def accuracies(trainer: Trainer, snrs: list[float | None], seed: int = 0) -> dict[tuple[float, float | None], float]:
    x = torch.as_tensor(trainer.test_set.waves).float()
    y = torch.as_tensor(trainer.test_set.labels)
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for scale in SCALES:
        changed = time_stretch(x, scale).float()
        for snr in snrs:
            out[scale, snr] = float((predicted(trainer.model, with_floor(changed, snr, gen)) == y).float().mean())
    return out


def band_empty_levels(model, x: torch.Tensor) -> float:
    """Mean band-empty finest levels per clip (``empty_band`` rule) of the model's input pyramid."""
    lift = model.features[0]
    return float(empty_octaves(x, lift.levels, 1, skip=lift.skip, threshold=model.empty_band).sum(1).float().mean())


def quantised(x: torch.Tensor, dbfs: float) -> torch.Tensor:
    """``x`` scaled to ``dbfs`` RMS and rounded to 16-bit samples."""
    x = x / x.pow(2).mean(-1, keepdim=True).sqrt() * 10 ** (dbfs / 20)
    return torch.round(x * 32767) / 32767


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.noise_floor", description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default="sounds_wnet_pyramid_vote,sounds_mnet,sounds_mnet_aug")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--snr", default="60,40,20", help="noise floors, dB below the clip's power")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/noise_floor"))
    parser.add_argument("--epochs", type=int, default=None, help="override the recipes' epochs (quick checks)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe override for every run (repeatable; use a --runs-dir of its own)")
    args = parser.parse_args(argv)
    snrs = [None] + [float(s) for s in args.snr.split(",") if s]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, quant = [], []
    for recipe in args.recipes.split(","):
        trainers = [trained(recipe, s, args.runs_dir, args.epochs, args.overrides) for s in seeds]
        runs = [accuracies(t, snrs) for t in trainers]
        last = trainers[-1]
        for snr in snrs:
            cells = []
            for scale in SCALES:
                v = [r[scale, snr] for r in runs]
                cells.append(mean_sd(v))
            rows.append(f"| {recipe} | {'none' if snr is None else f'{snr:g} dB'} | " + " | ".join(cells) + " |")
        if getattr(last.model, "empty_band", 0):
            slow = time_stretch(torch.as_tensor(last.test_set.waves).float(), 2.0).float()
            gen = torch.Generator().manual_seed(0)
            cells = [f"{band_empty_levels(last.model, with_floor(slow, s, gen)):.2f}" for s in snrs]
            cells += [f"{band_empty_levels(last.model, quantised(slow, d)):.2f}" for d in (-20, -30, -40, -50)]
            quant.append(f"| {recipe} | " + " | ".join(cells) + " |")
    print(f"| recipe ({len(seeds)} seeds) | noise floor after the change | "
          + " | ".join(f"×{s:g}" for s in SCALES) + " |")
    print("|---|---|" + "---|" * len(SCALES))
    print("\n".join(rows))
    if quant:
        heads = ["clean" if s is None else f"{s:g} dB" for s in snrs] + [f"int16 {d} dBFS" for d in (-20, -30, -40, -50)]
        print("\nBand-empty levels per clip at ×2 (1.00: the rule fires on every clip)\n")
        print("| recipe | " + " | ".join(heads) + " |")
        print("|---|" + "---|" * len(heads))
        print("\n".join(quant))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
