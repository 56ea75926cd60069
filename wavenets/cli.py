"""The wavenets command line.

commands at a glance:
  wavenets train RECIPE [--set KEY=VALUE ...] [--device auto|cpu|cuda[:N]] [--data-root DIR] [--resume | --force]
  wavenets eval RUN_DIR [--rotate 0,45,90] [--scale 0.5,1,2] [--split test]
  wavenets experiment NAME [--seeds 0,1,2] [--set KEY=VALUE ...] [--dry-run]   (alias: sweep CONFIG)
  wavenets cv RECIPE [--folds 1-10] [--set KEY=VALUE ...]
  wavenets data fetch|info NAME [--data-root DIR]
  wavenets demo [all|equivariance|digits|tissue] [--seeds 0,1,2] [--epochs N] [--quick]
  wavenets viz equivariance [--out docs/figures]
  wavenets predict RUN_DIR FILE_OR_FOLDER... [--out predictions] [--hop SECONDS] [--stride PX] [--skip-errors]
  wavenets export RUN_DIR [--format onnx|pt2|torchscript] [--out FILE]
  wavenets bench [--quick] [--only layers,pyramid,recipes,...] [--device cpu|cuda]
  wavenets recipes [--keys]
  wavenets models [NAME]

several GPUs or processes (DDP):
  torchrun --nproc_per_node 4 -m wavenets.cli train RECIPE

COMMAND --help gives a command's options; --traceback (before COMMAND) the full traceback of an error.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from ._extras import MissingExtra
from ._heap import keep_heap_warm
from ._io import DiskFullError, write_json

__all__ = ["main"]


class CLIError(ValueError):
    """A command cannot run as asked; printed as one ``error:`` line."""

# 2: an expected failure (bad input, config, file), as argparse uses it; 128 + signal number, as a shell reports them
EXIT_ERROR, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 2, 130, 141


def _angles(text: str) -> list[float]:
    try:
        return [float(a) for a in text.split(",") if a.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--rotate expects comma-separated degrees like 0,45,90; got {text!r}")


#: help of the options that several commands share
DEVICE_HELP = "auto (default: cuda if available), cpu, cuda, cuda:1 …"
DATA_ROOT_HELP = "dataset folder (default: $WAVENETS_DATA or ./datasets)"
RUNS_DIR_HELP = "where run folders go (default: runs)"
QUIET_HELP = "no progress bars or per-epoch lines"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wavenets", description="Group-equivariant CNNs: train, evaluate, fetch data.",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    from . import __version__
    from .data import FETCHERS  # (the data sets `data fetch` downloads, named in its help)

    p.add_argument("--version", action="version", version=f"wavenets {__version__}")
    p.add_argument("--traceback", action="store_true", help="show the full traceback of an error (for bug reports)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a recipe into runs/<name>/")
    t.add_argument("recipe", help="a recipe file or a name from recipes/ (see `wavenets recipes`)")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set train.epochs=3 --set augment.rot90=true (repeatable)")
    t.add_argument("--device", default="auto", help=DEVICE_HELP)
    t.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    t.add_argument("--runs-dir", default="runs", help=RUNS_DIR_HELP)
    t.add_argument("--resume", action="store_true", help="continue runs/<name>/ from its last checkpoint")
    t.add_argument("--force", action="store_true", help="overwrite an existing run folder (only the files wavenets "
                   "wrote there are deleted)")
    t.add_argument("--allow-change", action="append", default=[], metavar="KEY",
                   help="with --resume: accept a deliberate change of KEY (train.epochs); other changes are refused")
    t.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)

    c = sub.add_parser("cv", help="k-fold cross validation over the dataset's predefined folds")
    c.add_argument("recipe", help="a recipe of a data set with folds (us8k, esc50), by name or file")
    c.add_argument("--folds", default=None, help="e.g. 1-10 or 1,3,5 (default: all folds of the dataset)")
    c.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value in every fold's run (repeatable)")
    c.add_argument("--device", default="auto", help=DEVICE_HELP)
    c.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    c.add_argument("--runs-dir", default="runs", help=RUNS_DIR_HELP + "; one run per fold, NAME_foldK, and NAME_cv")
    c.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)

    for cmd, what in (("experiment", "an experiment name from recipes/experiments/ or a path"),
                      ("sweep", "an experiment file (TOML: variants × fractions × seeds)")):
        x = sub.add_parser(cmd, help="run a grid of recipe variants × data fractions × seeds and summarise it"
                           if cmd == "experiment" else "the same as experiment, for a config file")
        x.add_argument("name", metavar="NAME" if cmd == "experiment" else "CONFIG", help=what)
        x.add_argument("--seeds", default=None, help="e.g. 0,1,2 or 0-4 (default: the experiment's seeds)")
        x.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a value in every run, e.g. --set train.epochs=2 (repeatable; changes the runs' "
                            "keys, so they are trained anew)")
        x.add_argument("--device", default="auto", help=DEVICE_HELP)
        x.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
        x.add_argument("--runs-dir", default="runs", help="runs go to RUNS_DIR/sweeps/ (shared by experiments)")
        x.add_argument("--out", type=Path, default=None,
                       help="report folder (default: RUNS_DIR/experiments/NAME)")
        x.add_argument("--dry-run", action="store_true", help="list the runs and whether they are done, train nothing")
        x.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)

    e = sub.add_parser("eval", help="evaluate a run's best checkpoint, optionally on turned, magnified or stretched "
                       "inputs")
    e.add_argument("run_dir", type=Path, help="a run folder written by `wavenets train`")
    e.add_argument("--rotate", type=_angles, default=None, metavar="ANGLES",
                   help="image runs: degrees, e.g. 0,45,90; zoom datasets: one angle, applied at every --scale")
    e.add_argument("--scale", type=_angles, default=None, metavar="FACTORS",
                   help="audio runs: time-stretch factors; zoom datasets (tissue_zoom): magnifications; "
                        "e.g. 0.5,1,2")
    e.add_argument("--split", default="test", choices=["train", "val", "test"], help="the split to score (default: test)")
    e.add_argument("--checkpoint", default="best.pt", help="best.pt (default) or last.pt")
    e.add_argument("--device", default="auto", help=DEVICE_HELP)
    e.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)

    d = sub.add_parser("data", help="fetch or describe a dataset")
    d.add_argument("action", choices=["fetch", "info"], help="fetch: download, check and unpack; info: the splits, "
                   "their sizes and class balance")
    d.add_argument("name", help=f"a data set; {', '.join(FETCHERS)} are downloaded, the others (tissue, digits, "
                   "sounds, …) ship with their Python packages or are made in memory")
    d.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    d.add_argument("--url", default=None, help="a mirror: the archive's URL, or for the data sets of several files (pcam, "
                   "mtt) a URL template with {name} for each file name")
    d.add_argument("--no-verify", action="store_true", help="skip the MD5 check")

    m = sub.add_parser("demo", help="the demos: equivariance errors of every group, then G-CNN vs CNN on turned digits",
                       description="all (default): equivariance, then digits. equivariance: the equivariance error "
                       "of small networks for every group element. digits: a G-CNN and two CNN baselines trained "
                       "upright on embedded digits over 3 seeds, tested turned (about 2.5 min on 2 cores). "
                       "tissue: the same on embedded tissue patches, at any angle.")
    m.add_argument("what", nargs="?", default="all", choices=["all", "equivariance", "digits", "tissue"],
                   help="which demo (default: all)")
    m.add_argument("--seeds", default=None, help="training seeds, e.g. 0,1,2 (default: the demo's own)")
    m.add_argument("--epochs", type=int, default=None, help="override the recipes' epochs")
    m.add_argument("--quick", action="store_true", help="equivariance: smaller inputs")
    m.add_argument("--device", default="auto", help=DEVICE_HELP)
    m.add_argument("--runs-dir", default="runs", help=RUNS_DIR_HELP)

    pr = sub.add_parser("predict", help="apply a trained run to your own images (heat maps) or recordings (scores)",
                        description="Image runs, per image: <name>_probs.npy (class probabilities of every window the "
                        "network reads, every stride pixels) and <name>_heatmap.png. Audio runs: scores.csv, the "
                        "class (or tag) scores of every window of every recording. Folders are read for their files.")
    pr.add_argument("run_dir", help="a run folder written by `wavenets train` (uses its best.pt)")
    pr.add_argument("inputs", nargs="+", help="image files (PNG, JPEG, TIFF, BMP) or recordings (WAV, FLAC, OGG, MP3, "
                    "AIFF), or folders of them")
    pr.add_argument("--hop", type=float, default=None, help="audio: seconds between windows (default: one clip)")
    pr.add_argument("--stride", type=int, default=None, help="images, magnification pyramids (read window by window): "
                    "pixels between windows (default: an eighth of the patch; the SE(2) nets read the whole image in "
                    "one pass, one window every product-of-their-pools px)")
    pr.add_argument("--out", type=Path, default=Path("predictions"), help="output folder (default: ./predictions)")
    pr.add_argument("--checkpoint", default="best.pt", help="best.pt (default) or last.pt")
    pr.add_argument("--device", default="auto", help=DEVICE_HELP)
    pr.add_argument("--skip-errors", action="store_true", help="go on past unreadable or too small images, and count them")

    ex = sub.add_parser("export", help="write a trained run as ONNX, a torch.export program or TorchScript (group convs "
                        "frozen into plain convs)",
                        description="The run's checkpoint with every group convolution frozen into plain convolutions, "
                        "written as ONNX (opset 18, any batch size; needs pip install 'wavenets[export]'), as a "
                        "torch.export program (.pt2, any batch size; torch.export.load(FILE).module()) or as "
                        "TorchScript, loaded back and checked against the eager model (max |difference| <= 1e-4, else "
                        "nothing is written). <FILE>.json beside it describes the input (shape, sample rate or "
                        "normalisation) and the output (logits, class names).")
    ex.add_argument("run_dir", help="a run folder written by `wavenets train`")
    ex.add_argument("--format", choices=["onnx", "pt2", "torchscript"], default="onnx",
                    help="file format (default: onnx)")
    ex.add_argument("--out", type=Path, default=None,
                    help="file to write (default: RUN_DIR/model.onnx, model.pt2 or model.pt)")
    ex.add_argument("--checkpoint", default="best.pt", help="best.pt (default) or last.pt")

    b = sub.add_parser("bench", help="the benchmark suite (python -m benchmarks in a clone)",
                       add_help=False)

    r = sub.add_parser("recipes", help="list the recipes in recipes/ and the experiments in recipes/experiments/")
    r.add_argument("--keys", action="store_true", help="print every key a recipe may set, its default and what it "
                   "accepts (a Markdown table: docs/config.md)")

    mo = sub.add_parser("models", help="list the registered models, or one model's keys and their defaults")
    mo.add_argument("name", nargs="?", help="a model (se2net, mnet, …): print its keys, defaults and builder")

    v = sub.add_parser("viz", help="figures: `wavenets viz equivariance` (rotation and scale equivariance)")
    v.add_argument("what", choices=["equivariance"], help="the figure set to draw")
    v.add_argument("--out", type=Path, default=Path("docs/figures"), help="output folder (default: docs/figures)")
    v.add_argument("--no-gif", action="store_true", help="PNG only")
    return p


def _train(args) -> int:
    from .train import ConfigError, RunDir, Trainer, load_recipe, resolve_device
    from .train._dist import launch_rank

    cfg = load_recipe(args.recipe, args.overrides)
    run = RunDir(args.runs_dir, cfg["name"])
    if args.resume and args.force:
        raise ConfigError("--resume continues a run and --force replaces it: pass one of them")
    if args.allow_change and not args.resume:
        raise ConfigError("--allow-change only applies to --resume")
    if args.resume and not run.holds_run():
        raise ConfigError(f"--resume: {run.path} holds no run; train it first without --resume")
    # under torchrun every rank runs this, and the run is one job: rank 0 checks, clears and locks it for all (the
    # other ranks wait for rank 0 in the Trainer's process-group set-up, so they start after its checks)
    first = launch_rank() == 0
    with run.lock():  # a second `wavenets train` of this name is refused, not mixed in
        if first and run.holds_run() and not (args.resume or args.force):
            raise ConfigError(f"{run.path} already holds a run; pass --resume to continue it, --force to overwrite "
                              f"it, or --set name=<new name>")
        if first and args.force:
            run.clear()
        trainer = Trainer(cfg, run.path, device=resolve_device(args.device), data_root=args.data_root,
                          quiet=args.quiet)
        trainer.fit(resume=args.resume, allow_change=args.allow_change)
    return 0


def _int_ranges(text: str, what: str) -> list[int]:
    """``"1-3,5"`` -> ``[1, 2, 3, 5]``."""
    out = []
    try:
        for part in text.split(","):
            a, _, b = part.strip().partition("-")
            out += list(range(int(a), int(b or a) + 1))
    except ValueError:
        raise ValueError(f"{what} expects numbers and ranges like 0,1,2 or 0-4; got {text!r}") from None
    return out


def _folds(text: str | None, dataset: str) -> list[int]:
    from .data import DATASETS

    if text is None:
        return list(range(1, getattr(DATASETS[dataset], "num_folds", 0) + 1)) or [1]
    return _int_ranges(text, "--folds")


def _experiment(args) -> int:
    from .train import RunDir, load_experiment, resolve_device, run_experiment

    seeds = _int_ranges(args.seeds, "--seeds") if args.seeds else None
    exp = load_experiment(args.name, seeds=seeds, overrides=args.overrides)
    if args.dry_run:
        grid = exp.configs()
        print(f"{exp.name}: {exp.title}; {len(grid)} runs")
        width = max(len(v.label) for v in exp.variants)
        for v, frac, seed, cfg in grid:
            run = RunDir(Path(args.runs_dir) / "sweeps", cfg["name"])
            state = "done" if run.done else "partial (will resume)" if (run / "last.pt").exists() else "to train"
            print(f"  {v.label:<{width}}  fraction {frac:<5g} seed {seed:<3} {state:<22} {run.path}")
        return 0
    run_experiment(exp, Path(args.runs_dir), out=args.out, device=resolve_device(args.device),
                   data_root=args.data_root, quiet=args.quiet)
    return 0


def _cv(args) -> int:
    from .train import cross_validate, load_recipe, resolve_device

    cfg = load_recipe(args.recipe, args.overrides)
    if cfg["data"]["name"] not in ("us8k", "esc50"):
        raise CLIError(f"{cfg['data']['name']} has no predefined folds; cv works with us8k and esc50")
    cross_validate(cfg, _folds(args.folds, cfg["data"]["name"]), Path(args.runs_dir),
                   device=resolve_device(args.device), data_root=args.data_root, quiet=args.quiet)
    return 0


def _eval(args) -> int:
    from .train import RunDir

    run = RunDir.at(args.run_dir)
    cfg = run.config()  # before the lock, which would create a missing folder
    with run.lock(wait=False):  # not while a process trains (and rewrites) this run
        return _eval_run(args, run, cfg)


def _eval_run(args, run, cfg: dict) -> int:
    from .train import Trainer, load_checkpoint, resolve_device

    trainer = Trainer(cfg, run.path, device=resolve_device(args.device), data_root=args.data_root, quiet=True)
    ck = run / args.checkpoint
    if not ck.exists():
        raise CLIError(f"{ck} not found")
    trainer.model.load_state_dict(load_checkpoint(ck)["model"])
    dataset = {"train": trainer.train_set, "val": trainer.val_set, "test": trainer.test_set}[args.split]
    t = trainer.transform
    by_scale = t.unit == "×"  # time stretch (audio) or magnification (zoom datasets): --scale; rotation: --rotate
    params = (args.scale or [t.identity]) if by_scale else (args.rotate or [t.identity])
    if t.turnable and args.rotate is not None:  # a zoom sweep of turned images
        if len(args.rotate) != 1:
            raise CLIError(f"a zoom run turns its images by one angle at every --scale; got --rotate "
                           f"{','.join(f'{a:g}' for a in args.rotate)}: run once per angle")
        trainer.eval_rotation = args.rotate[0]
    elif (args.scale if not by_scale else args.rotate) is not None:
        raise CLIError(f"this run is evaluated by {t.name}; use --{'scale' if by_scale else 'rotate'}")
    results = trainer.evaluate(dataset, params)
    turned = f", every image turned by {trainer.eval_rotation}°" if t.turnable and trainer.eval_rotation else ""
    print(f"{cfg['name']} ({args.checkpoint}, {args.split} split, {len(dataset)} examples{turned})")
    print(f"{t.name:>10} {'accuracy':>9} {'ROC-AUC':>8} {'NLL':>8}")
    for param, r in results.items():
        print(f"{t.format(param):>10} {r['acc']:>9.4f} {r['auc']:>8.4f} {r['nll']:>8.4f}")
    out = run / f"eval_{args.split}.json"
    suffix = f" rotation={trainer.eval_rotation}" if turned else ""  # as the experiments' robustness.json keys them
    write_json(out, {f"{a}{suffix}": r for a, r in results.items()})
    print(f"wrote {out}")
    return 0


def _predict(args) -> int:
    from .predict import predict
    from .train import RunDir, resolve_device

    run = RunDir.at(args.run_dir)
    failed = predict(run, args.inputs, args.out, checkpoint=args.checkpoint, device=resolve_device(args.device),
                     hop=args.hop, stride=args.stride, skip_errors=args.skip_errors)
    return EXIT_ERROR if failed else 0


def _export(args) -> int:
    from .deploy import export_run
    from .train import RunDir

    path, err = export_run(RunDir.at(args.run_dir), args.format, args.out, checkpoint=args.checkpoint)
    print(f"{path} ({path.stat().st_size / 1e6:.2f} MB, {args.format}); max |exported - eager| = {err:.2g} on two batch "
          f"sizes; input and output described in {path.name}.json")
    return 0


def _headline(obj) -> str:
    """The first sentence of ``obj``'s docstring, unwrapped, as plain text (no reST markup); its
    name when it has none (a data set a user registered)."""
    if not (obj.__doc__ or "").strip():
        return f"{obj.__name__} (undocumented)"
    paragraph = " ".join(obj.__doc__.strip().split("\n\n")[0].split())
    first = re.split(r"(?<=\.)\s+(?=[A-Z])", paragraph)[0]
    first = re.sub(r":func:`~?(?:[\w.]+\.)?([^`]+)`", r"\1()", first)
    return re.sub(r":\w+:`~?(?:[\w.]+\.)?([^`]+)`", r"\1", first).replace("``", "")


def _data(args) -> int:
    from .data import DATASETS, FETCHERS, data_root, get_dataset

    if args.name not in DATASETS:
        raise CLIError(f"unknown dataset {args.name!r}; available: {', '.join(DATASETS)}")
    if args.action == "fetch":
        if args.name not in FETCHERS:
            print(f"{args.name} needs no download (made from data inside installed packages, or synthesised); "
                  "nothing to fetch")
            return 0
        kwargs = {"verify": not args.no_verify}
        if args.url:
            kwargs["url"] = args.url
        folder = FETCHERS[args.name](args.data_root, **kwargs)
        print(f"{args.name} ready in {folder}")
        return 0
    print(f"{args.name}: {_headline(DATASETS[args.name])}")
    for split in ("train", "val", "test"):
        try:
            ds = get_dataset(args.name, split, args.data_root)
        except FileNotFoundError as err:
            print(f"  {split}: not available ({err})")
            continue
        balance = ", ".join(f"{b:.1%}" for b in ds.class_balance()[:12]) + (" …" if ds.num_classes > 12 else "")
        print(f"  {split}: {ds.describe()}, {ds.num_classes} classes, class balance {balance}")
    print(f"  data root: {data_root(args.data_root).resolve()}")
    return 0


def _recipes(args) -> int:
    from .train._config import recipes_dir

    if args.keys:
        from .train._schema import reference

        print(reference(), end="")
        return 0
    for path in sorted(recipes_dir().glob("*.toml")):
        first = next((l[1:].strip() for l in path.read_text().splitlines() if l.startswith("#")), "")
        print(f"{path.stem:<24} {first}")
    print("\nexperiments (wavenets experiment NAME):")
    from .train._sweep import list_experiments

    list_experiments()
    return 0


def _models(args) -> int:
    from .models import REQUIRED, list_models, model_keys
    from .models._registry import _entry

    if args.name is None:
        for name in list_models():
            doc = (_entry(name).builder.__doc__ or "").strip().split("\n\n")[0]
            doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc).replace("``", "")  # reST roles and literals as plain text
            print(f"{name:<18} {' '.join(doc.split())}")
        print("\nwavenets models NAME lists a model's keys (the [model] table of a recipe) and their defaults")
        return 0
    for key, default in model_keys(args.name).items():
        shown = "required" if default is REQUIRED else "unset (the model's own default)" if default is None else repr(default)
        print(f"{key:<18} {shown}")
    return 0


def _bench(args: list[str]) -> int:
    from .benchmarks.__main__ import main as bench_main  # the source tree's benchmarks/, installed with the package

    return bench_main(args)


def _demo(args) -> int:
    from .demo import equivariance_demo
    from .demo_train import run_demo

    seeds = None
    if args.seeds:
        try:
            seeds = tuple(int(s) for s in args.seeds.split(","))
        except ValueError:
            raise CLIError(f"--seeds takes whole numbers separated by commas, e.g. 0,1,2; got {args.seeds!r}") from None
    if args.what in ("all", "equivariance"):
        equivariance_demo(quick=args.quick)
    if args.what in ("all", "digits", "tissue"):
        return run_demo("digits" if args.what == "all" else args.what, epochs=args.epochs, seeds=seeds,
                        device=args.device, runs_dir=Path(args.runs_dir))
    return 0


def _viz(args) -> int:
    from .viz import equivariance_figures

    for path in equivariance_figures(args.out, gif=not args.no_gif):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    except BrokenPipeError:  # `wavenets recipes | head`: the reader left; no traceback, SIGPIPE's exit status
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the final flush must not raise again
        return EXIT_BROKEN_PIPE


def _main(argv: list[str]) -> int:
    if argv[:1] == ["bench"]:  # every further argument belongs to python -m benchmarks
        return _bench(argv[1:])
    args = _parser().parse_args(argv)
    from .data import AudioDecodeError, DownloadError
    from .deploy import ExportError
    from .train import CheckpointError, ConfigError, Interrupted, TrainingError

    handlers = {"train": _train, "cv": _cv, "eval": _eval, "data": _data, "recipes": _recipes, "models": _models, "demo": _demo, "predict": _predict,
                "export": _export, "viz": _viz, "experiment": _experiment, "sweep": _experiment}
    if args.command in ("train", "cv", "eval", "experiment", "sweep", "demo", "predict"):
        keep_heap_warm()  # large activations reuse warm pages, step after step (wavenets/_heap.py)
    try:
        return handlers[args.command](args)
    except Interrupted as err:
        print(f"\n{err}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ConfigError, TrainingError, DownloadError, AudioDecodeError, FileNotFoundError, ValueError, MissingExtra,
            DiskFullError, CheckpointError, ExportError) as err:
        if args.traceback:
            raise
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
