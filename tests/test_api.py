"""The public API: what each package exports exists, and every exported class and function says
what it does (``help()`` and editors show it; the README points users to the docstrings)."""
import importlib
import inspect

import pytest

PACKAGES = ["wavenets", "wavenets.groups", "wavenets.nn", "wavenets.testing", "wavenets.models", "wavenets.data",
            "wavenets.train"]


def _documented(obj) -> bool:
    doc = (obj.__doc__ or "").strip()
    # a dataclass without a docstring gets its signature as one: that says nothing
    return bool(doc) and not (inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("))


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists_and_is_documented(name):
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what the package does not define: {missing}"
    undocumented = [n for n in exported
                    if (inspect.isclass(obj := getattr(module, n)) or inspect.isroutine(obj) or inspect.ismodule(obj))
                    and not _documented(obj)]
    assert not undocumented, f"exported without a docstring in {name}: {undocumented}"


def test_importing_the_package_leaves_torch_compile_unloaded():
    """``import wavenets`` (layers, models, trainer, CLI) does not import ``torch._dynamo``, which
    costs about as long again as torch itself; only a compile or an export loads it."""
    import subprocess
    import sys

    code = ("import sys, wavenets, wavenets.models, wavenets.train, wavenets.cli, wavenets.data, wavenets.predict\n"
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
