"""``wavenets demo digits|tissue``: train a G-CNN and its CNN baselines on embedded data, over
seeds, and compare them on upright and rotated test images (the lecture's claims: a CNN trained
upright fails on turned inputs and a G-CNN does not; the G-CNN needs no augmentation to match a
CNN trained with it)."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from ._io import write_json


@dataclass(frozen=True)
class Variant:
    key: str  # run-name part
    label: str
    recipe: str
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Demo:
    title: str
    variants: tuple[Variant, ...]
    overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    note: str


DEMOS: dict[str, Demo] = {
    "digits": Demo(
        title="scikit-learn's handwritten digits (12 × 12 px): trained upright, tested turned by 90° steps",
        variants=(Variant("gcnn", "G-CNN C8, no aug.", "digits_se2_n8"),
                  Variant("cnn", "CNN, no aug.", "digits_cnn"),
                  Variant("cnn_aug", "CNN + rot90 aug.", "digits_cnn", ("augment.rot90=true",))),
        overrides=("eval.rotations=[0, 90, 180, 270]",),
        seeds=(0, 1, 2),
        note="Turns by 90° map the 12 px grid onto itself, so the G-CNN's invariance is exact there; a turn by\n"
             "45° would resample a 12 px digit beyond recognition for every model (the tissue demo turns by any\n"
             "angle: `wavenets demo tissue`).",
    ),
    "tissue": Demo(
        title="tissue patches cut from scikit-image's ihc.png: trained upright, tested at any angle",
        variants=(Variant("se2", "SE(2) G-CNN C8, no rot. aug", "tissue_se2_n8"),
                  Variant("cnn", "CNN, no rot. aug", "tissue_cnn"),
                  Variant("cnn_aug", "CNN + rotation aug", "tissue_cnn_aug")),
        overrides=(),
        seeds=(0,),
        note="Tissue is nearly rotation invariant already: the three models are close, and their order can flip\n"
             "with the seed (docs/experiments.md has 3 seeds: G-CNN 0.968 ± 0.005, CNN + aug 0.959 ± 0.009).",
    ),
}


def _spread(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _cell(values: list[float]) -> str:
    m, s = _spread(values)
    return f"{m:.3f}" if len(values) == 1 else f"{m:.3f}±{s:.3f}"


def run_demo(name: str = "digits", *, epochs: int | None = None, seeds: tuple[int, ...] | None = None,
             device: str = "auto", runs_dir: Path = Path("runs")) -> int:
    """Train every variant of ``DEMOS[name]`` for every seed, print the comparison (mean ± sd
    over seeds per test angle) and the verdict its numbers support, and write
    ``runs_dir/demo_<name>.json`` and ``demo_<name>.png``."""
    from .train import RunDir, Trainer, load_recipe, resolve_device

    demo = DEMOS[name]
    seeds = tuple(seeds or demo.seeds)
    start = time.perf_counter()
    print(f"\n{demo.title}; {len(demo.variants)} models × {len(seeds)} seed(s)")
    acc: dict[str, dict[str, list[float]]] = {}
    info: dict[str, dict] = {}
    for v in demo.variants:
        for seed in seeds:
            overrides = [f"name='demo_{name}_{v.key}_s{seed}'", f"train.seed={seed}", *demo.overrides, *v.overrides]
            cfg = load_recipe(v.recipe, overrides + ([f"train.epochs={epochs}"] if epochs else []))
            run = RunDir(runs_dir, cfg["name"])
            with run.lock():
                run.clear()
                r = Trainer(cfg, run.path, device=resolve_device(device), quiet=True).fit()
            by_angle = acc.setdefault(v.label, {})
            for angle, m in r["test"].items():
                by_angle.setdefault(angle, []).append(m["acc"])
            info.setdefault(v.label, {"recipe": v.recipe, "overrides": list(v.overrides), "params": r["params"],
                                      "wall_s": []})["wall_s"].append(r["wall_s"])
            print(f"  {v.label:<22} seed {seed}: upright {r['test'][next(iter(r['test']))]['acc']:.3f}, "
                  f"{r['wall_s']:.0f} s", flush=True)
    angles = list(next(iter(acc.values())))
    print(f"\nTest accuracy (best validation checkpoint), {'mean ± sd over seeds ' + str(list(seeds)) if len(seeds) > 1 else f'seed {seeds[0]}'}, by input rotation:\n")
    width = 14 if len(seeds) > 1 else 8
    print(f"{'model':<26}{'params':>9}" + "".join(f"{float(a):>{width - 1}g}°" for a in angles) + f"{'train s':>9}")
    for label, by_angle in acc.items():
        cells = "".join(f"{_cell(by_angle[a]):>{width}}" for a in angles)
        print(f"{label:<26}{info[label]['params']:>9,}{cells}{statistics.fmean(info[label]['wall_s']):>9.1f}")
    print()
    verdict = _verdict(acc, angles, len(seeds))
    for line in verdict:
        print(line)
    print(f"\n{demo.note}")
    report = {"demo": name, "title": demo.title, "seeds": list(seeds), "angles": [float(a) for a in angles],
              "models": {label: {**info[label], "acc": acc[label]} for label in acc}, "verdict": verdict}
    write_json(runs_dir / f"demo_{name}.json", report)
    figure = _plot(acc, angles, demo.title, runs_dir / f"demo_{name}.png")
    print(f"\nRuns in {runs_dir}/demo_{name}_*/, comparison in {runs_dir / f'demo_{name}.json'} and {figure}; "
          f"total {time.perf_counter() - start:.0f} s")
    return 0


def _verdict(acc: dict[str, dict[str, list[float]]], angles: list[str], n_seeds: int) -> list[str]:
    """The claims, each with the numbers that decide it: the G-CNN (first model) against the
    plain CNN (second) on turned inputs, and against the augmented CNN (third) over all angles.
    A gap counts when it exceeds twice the larger seed-to-seed sd."""
    (g_label, g), (c_label, c), (a_label, a) = list(acc.items())[:3]
    turned = [x for x in angles if float(x) % 360]
    if not turned or n_seeds < 2:
        return ["(one seed: no spread to judge a gap by; run with --seeds 0,1,2)"]

    def per_seed(by_angle, which, reduce):
        return [reduce([by_angle[x][i] for x in which]) for i in range(n_seeds)]

    g_worst = per_seed(g, angles, min)
    c_turned = per_seed(c, turned, statistics.fmean)
    g_mean, a_mean = per_seed(g, angles, statistics.fmean), per_seed(a, angles, statistics.fmean)
    lines = []
    for what, (x, xs), (y, ys), claim, on_par_holds in (
        ("turned inputs", (f"{g_label} at its worst angle", g_worst), (f"{c_label} over the turned angles", c_turned),
         "a CNN trained upright fails on turned inputs, the G-CNN does not", False),
        ("all angles", (f"{g_label}, mean", g_mean), (f"{a_label}, mean", a_mean),
         "the G-CNN without augmentation matches or beats the CNN with it", True),
    ):
        (mx, sx), (my, sy) = _spread(xs), _spread(ys)
        gap, noise = mx - my, max(sx, sy, 1e-3)  # 1e-3: one test image in a thousand, the resolution
        if gap > 2 * noise:
            judged = "holds"
        elif gap < -2 * noise:
            judged = "fails"
        else:
            judged = "holds (on par within the seed spread)" if on_par_holds else "not shown (within the seed spread)"
        lines.append(f"{what}: {x} {mx:.3f} ± {sx:.3f} vs {y} {my:.3f} ± {sy:.3f}: gap {gap:+.3f} = "
                     f"{abs(gap) / noise:.0f}× the larger sd -> '{claim}': {judged}")
    return lines


def _plot(acc: dict[str, dict[str, list[float]]], angles: list[str], title: str, path: Path) -> Path:
    """Grouped bars: accuracy per test angle and model, mean ± sd over seeds."""
    from .train._report import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(acc)
    for k, (label, by_angle) in enumerate(acc.items()):
        stats = [_spread(by_angle[a]) for a in angles]
        ax.bar([i + (k - (len(acc) - 1) / 2) * width for i in range(len(angles))], [m for m, _ in stats], width,
               yerr=[s for _, s in stats], capsize=3, label=label)
    ax.set_xticks(range(len(angles)), [f"{float(a):g}°" for a in angles])
    ax.set_xlabel("test input rotation")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(acc), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)
    plt.close(fig)
    return path
