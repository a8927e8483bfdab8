"""`python benchmarks/NAME.py` puts benchmarks/ first on sys.path, so a script named like a module (numbers.py,
onnx.py) is imported in that module's place by everything the benchmarks import: numpy's `import numbers` broke
every benchmark once."""

import importlib.util

import pytest

from digitlib.constants import PACKAGE_DIR

SCRIPTS = sorted((PACKAGE_DIR.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_benchmark_hides_a_module_of_its_name(script):
    assert importlib.util.find_spec(script.stem) is None, f"benchmarks/{script.name} hides the module {script.stem}"
