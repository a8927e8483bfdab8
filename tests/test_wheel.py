"""A wheel built from this repository installs anywhere: installed (not editable) in a fresh environment, its CLI
reads the shipped weights inside the package and MNIST from $DIGITLIB_DATA, run from an unrelated folder."""

import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

import pytest
from drawings import drawing

from digitlib.constants import DATA_DIR, ROOT

# Building reuses this environment's setuptools (no download); torch's own requirement brings one new enough.
pytest.importorskip("setuptools", minversion="70.1", reason="building a wheel offline needs setuptools>=70.1")

NOT_BUILD_PATTERNS = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".ipynb_checkpoints", "artifacts"
)


def NOT_BUILD_INPUTS(folder, names):  # noqa: N802 -- copytree's ignore, as shutil.ignore_patterns makes one
    """What copytree leaves out: the patterns above, and the top-level data/ (digitlib/data/ is code)."""
    return set(NOT_BUILD_PATTERNS(folder, names)) | ({"data"} if Path(folder) == ROOT else set())


def check(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed():
    """The wheel, and a fresh environment holding it (not editable), in a temporary folder deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="digitlib-wheel-") as tmp:
        tmp = Path(tmp)
        # Build from a copy of the repository, so that build/ and *.egg-info are not written into it.
        shutil.copytree(ROOT, tmp / "src", ignore=NOT_BUILD_INPUTS, symlinks=True)
        check(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                str(tmp / "src"),
                "--no-deps",
                "--no-build-isolation",
                "--no-index",
                "--quiet",
                "-w",
                str(tmp / "dist"),
            ]
        )
        (wheel,) = (tmp / "dist").glob("digitlib-*.whl")

        # A fresh environment that reuses this one's packages (torch...) through a .pth file: --system-site-packages
        # would reach only the base Python's, and this one is usually itself a venv. The .pth files of those folders
        # are not run, so the editable digitlib installed here cannot shadow the wheel's.
        env = tmp / "env"
        venv.create(env, with_pip=False)
        python = env / "bin" / "python"
        purelib = check([str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
        purelib = Path(purelib.strip())
        (purelib / "reuse-parent.pth").write_text("\n".join(site.getsitepackages()) + "\n")
        check(
            [
                str(python),
                "-I",
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--no-index",
                "--force-reinstall",
                "--quiet",
                str(wheel),
            ]
        )
        yield {"wheel": wheel, "env": env, "purelib": purelib, "tmp": tmp}


def digitlib(installed, *args, data=None):
    """Run the installed digitlib command from an unrelated folder: no PYTHONPATH, no user site, a fresh home."""
    home = installed["tmp"] / "home"
    work = installed["tmp"] / "elsewhere"
    work.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "DIGITLIB_DATA")}
    env.update(PYTHONNOUSERSITE="1", HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"))
    if data is not None:
        env["DIGITLIB_DATA"] = str(data)
    return check([str(installed["env"] / "bin" / "digitlib"), *args], cwd=work, env=env)


def test_the_wheel_carries_every_shipped_weight_and_sweep(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    shipped = [
        p.relative_to(ROOT / "weights").as_posix()
        for p in (ROOT / "weights").rglob("*")
        if p.suffix in (".safetensors", ".json", ".onnx")
    ]
    assert shipped and {f"digitlib/shipped_weights/{p}" for p in shipped} <= names
    assert any(p.startswith("sweeps/") for p in shipped)


def test_the_wheel_carries_the_api_drawing_page(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    page = [p.relative_to(ROOT).as_posix() for p in (ROOT / "digitlib" / "apps" / "page").iterdir()]
    assert {"digitlib/apps/page/index.html", "digitlib/apps/page/page.js"} <= set(page) <= names


def test_the_installed_package_is_the_wheel_and_keeps_data_out_of_it(installed):
    python = installed["env"] / "bin" / "python"
    file = check([str(python), "-I", "-c", "import digitlib; print(digitlib.__file__)"]).strip()
    package = installed["purelib"] / "digitlib"
    assert Path(file) == package / "__init__.py"
    where = json.loads(digitlib(installed, "where", "--json"))
    home = installed["tmp"] / "home"
    assert where["clone"] is False and where["package"] == str(package)
    assert where["weights"] == str(package / "shipped_weights")
    assert Path(where["data"]).is_relative_to(home) and Path(where["train_out"]).is_relative_to(home)
    assert json.loads(digitlib(installed, "where", "--json", data=DATA_DIR))["data"] == str(DATA_DIR)


def test_the_installed_cli_lists_predicts_and_evaluates_with_the_shipped_weights(installed, mnist_test):
    rows = json.loads(digitlib(installed, "models", "--json"))
    assert rows and all(r["test_accuracy"] is not None for r in rows)

    digits, labels = mnist_test
    image = installed["tmp"] / "digit.png"
    drawing(digits[0], "plain").save(image)
    row = json.loads(digitlib(installed, "predict", str(image), "--json"))
    assert row["error"] is None and row["digit"] == int(labels[0])

    # MNIST is where mnist_test found it; evaluating must not fetch it again
    result = json.loads(digitlib(installed, "evaluate", "--model", "fast", "--json", data=DATA_DIR))
    shipped = json.loads((ROOT / "weights" / "fast.json").read_text())
    assert result["accuracy"] == pytest.approx(shipped["test_accuracy"], abs=1e-4)
