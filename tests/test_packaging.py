"""The package carries what its commands need: every subpackage is listed for the wheel, the
recipes and experiments install as ``wavenets.recipes`` and the benchmark suite as
``wavenets.benchmarks``, and both are found from any working directory. (.ci/run builds the
wheel, installs it in a fresh venv outside the checkout and trains a recipe from it.)"""
import sys
from pathlib import Path

from wavenets.cli import main
from wavenets.train._config import recipes_dir, resolve_recipe_path

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_every_subpackage_is_in_the_wheel():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "wavenets").rglob("__init__.py")}
    assert set(setup["packages"]) == found | {"wavenets.recipes", "wavenets.benchmarks"}
    assert setup["package-dir"] == {"wavenets.recipes": "recipes", "wavenets.benchmarks": "benchmarks"}
    assert set(setup["package-data"]["wavenets.recipes"]) == {"*.toml", "experiments/*.toml"}


def test_recipes_and_experiments_are_found_from_any_directory(tmp_path, monkeypatch, capsys):
    shipped = sorted(p.name for p in recipes_dir().glob("*.toml"))
    assert shipped == sorted(p.name for p in (ROOT / "recipes").glob("*.toml")) and "tissue_se2_n8.toml" in shipped
    monkeypatch.chdir(tmp_path)  # no recipes/ here
    assert resolve_recipe_path("digits_se2_n8") == recipes_dir() / "digits_se2_n8.toml"
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "digits_se2_n8" in out and "tissue_rotscale" in out  # a recipe and an experiment


def test_bench_runs_from_the_package(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        main(["bench", "--help"])
    except SystemExit as done:  # argparse's --help
        assert done.code == 0
    assert "--quick" in capsys.readouterr().out
