"""deploy/: the Compose file follows the Compose specification and the Kubernetes manifests Kubernetes' API schemas
(strictly: no unknown field), checked offline with the schemas that check-jsonschema and kubernetes-validate ship.
Each check is also shown to refuse a file with a mistake, so a pass means something. `make lint` runs the same."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from digitlib.constants import ROOT

DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


def tool(name):
    """The command of a checker installed beside this Python (the venv's bin), else on PATH; skips without it."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it is pinned in requirements.txt: make setup)")
    return found


def check_compose(path):
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True)


def check_kubernetes(*paths):
    command = [tool("kubernetes-validate"), "--strict", "--quiet", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True)


def test_the_compose_file_follows_the_compose_specification():
    result = check_compose(DEPLOY / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_compose_file_with_an_unknown_key_is_refused(tmp_path):
    bad = tmp_path / "compose.yaml"
    bad.write_text((DEPLOY / "compose.yaml").read_text().replace("  api:\n", "  api:\n    replica: 3\n", 1))
    result = check_compose(bad)
    assert result.returncode == 1 and "'replica' was unexpected" in result.stdout


def test_the_kubernetes_manifests_follow_kubernetes_schemas():
    assert [p.name for p in MANIFESTS] == ["api.yaml", "dashboard.yaml"]
    result = check_kubernetes(*MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "mistake, message",
    [
        (("containerPort: 8000", 'containerPort: "8000"'), "'8000' is not of type 'integer'"),
        (("readinessProbe:", "readynessProbe:"), "'readynessProbe' was unexpected"),
    ],
)
def test_a_manifest_with_a_mistake_is_refused(tmp_path, mistake, message):
    bad = tmp_path / "api.yaml"
    bad.write_text((DEPLOY / "kubernetes" / "api.yaml").read_text().replace(*mistake, 1))
    result = check_kubernetes(bad)
    assert result.returncode == 1 and message in result.stdout + result.stderr


WITHOUT_TORCH = "import sys; sys.modules.update(torch=None, torchvision=None); from digitlib.apps.cli import main; "


def cli_without_torch(*args):
    """python -m digitlib ARGS in a Python where torch cannot be imported, as in the container image."""
    code = WITHOUT_TORCH + f"sys.exit(main({list(args)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_the_commands_the_image_runs_need_no_torch():
    assert cli_without_torch("serve", "--help").returncode == 0
    assert cli_without_torch("where").returncode == 0


def test_a_command_that_needs_torch_says_so_in_one_line_without_it():
    result = cli_without_torch("train", "--model", "fast", "--dry-run")
    assert result.returncode == 1
    assert result.stderr == "error: train needs torch, which this installation lacks (pip install torch)\n"
