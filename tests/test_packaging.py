"""Packaging: the README's commands, .ci/run, the wheel's contents and a clean install.

The wheel test is what proves `kernels/*.cu` ship: it builds the wheel from the source tree,
installs it into a fresh virtual environment and reads the kernels through
`importlib.resources` from outside the source tree.
"""

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import gkeras

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CI_RUN = REPO / ".ci" / "run"

MAIN_COMMAND = "python -m pip install . && python examples/six_steps_iris.py"
TEST_COMMAND = 'python -m pip install ".[test]" && pytest'


def _code_blocks(markdown, language=None):
    """The fenced code blocks of `markdown` as `(language, body)` pairs, in order."""
    blocks = re.findall(r"^```([\w+-]*)[ \t]*\n(.*?)^```[ \t]*$", markdown, re.S | re.M)
    return [(lang, body) for lang, body in blocks if language is None or lang == language]


def _clean_env(**extra):
    """The current environment without variables that would redirect imports."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def _source_version():
    """gkeras's version as written in the source tree (not as imported)."""
    text = (REPO / "gkeras" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert match, "gkeras/__init__.py has no __version__ line"
    return match.group(1)


def _repo_kernels():
    return {p.name: p.read_bytes() for p in sorted((REPO / "kernels").glob("*.cu"))}


# --- README and .ci/run -------------------------------------------------------------------


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    first_heading = text.index("\n## ")
    blocks = _code_blocks(text[:first_heading])
    assert blocks, "README.md must show its two commands in a code block before the first section"
    lines = [line.strip() for line in blocks[0][1].splitlines() if line.strip()]
    assert lines == [MAIN_COMMAND, TEST_COMMAND]


def test_ci_run_runs_the_readme_test_command_verbatim():
    text = README.read_text()
    readme_test_command = [
        line.strip() for line in _code_blocks(text)[0][1].splitlines() if line.strip()
    ][1]
    script = CI_RUN.read_text()
    commands = [line.strip() for line in script.splitlines()
                if line.strip() and not line.strip().startswith("#")]
    assert readme_test_command in commands, (
        f".ci/run must run the README's test command {readme_test_command!r} as a line of its own"
    )
    assert script.startswith("#!/usr/bin/env bash\n") or script.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in commands
    assert "ruff check gkeras tests" in commands
    assert "hadolint --failure-threshold warning Dockerfile" in commands
    assert os.access(CI_RUN, os.X_OK), ".ci/run must be executable"


def test_ci_run_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(CI_RUN)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("index", range(3))
def test_readme_python_examples_run(index, tmp_path):
    # The quick-start code is a promise: each python block must run as shown, on NumPy.
    blocks = _code_blocks(README.read_text(), "python")
    assert len(blocks) == 3, "README.md shows functional, Sequential and subclassed models"
    env = _clean_env(PYTHONPATH=str(Path(gkeras.__file__).resolve().parents[1]),
                     GKERAS_BACKEND="numpy")
    result = subprocess.run([sys.executable, "-c", blocks[index][1]], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"README python block {index} failed:\n{result.stderr}"


# --- import behaviour -----------------------------------------------------------------------


def test_import_does_not_load_optional_heavy_modules(tmp_path):
    # `import gkeras` must stay fast on a CPU machine: CuPy and h5py load on first use only.
    snippet = (
        "import json, sys\n"
        "import gkeras\n"
        "heavy = ('cupy', 'cupyx', 'h5py', 'matplotlib', 'mpi4py')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    env = _clean_env(PYTHONPATH=str(Path(gkeras.__file__).resolve().parents[1]))
    env.pop("GKERAS_BACKEND", None)
    result = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.mark.skipif(os.environ.get("CI", "").lower() != "true",
                    reason="CI installs the package non-editable; locally an editable or source "
                           "checkout import is fine")
def test_ci_tests_the_installed_package():
    # .ci/run runs bare `pytest` after `pip install .`: the tests must see site-packages.
    package_dir = Path(gkeras.__file__).resolve().parent
    assert REPO not in package_dir.parents, (
        f"tests imported gkeras from the source tree ({package_dir}), not the installed wheel"
    )
    assert (package_dir / "kernels").is_dir(), "the installed package has no gkeras/kernels"


# --- the wheel ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Builds the wheel from the source tree once for this module."""
    outdir = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(outdir),
         str(REPO)],
        capture_output=True, text=True, env=_clean_env(), timeout=240,
    )
    assert result.returncode == 0, f"wheel build failed:\n{result.stdout}\n{result.stderr}"
    wheels = list(outdir.glob("gkeras-*.whl"))
    assert len(wheels) == 1, f"expected one gkeras wheel in {outdir}, found {wheels}"
    return wheels[0]


def test_wheel_ships_the_kernel_sources(wheel):
    repo_kernels = _repo_kernels()
    assert repo_kernels, "kernels/ has no .cu files"
    with zipfile.ZipFile(wheel) as zf:
        shipped = {name.split("/")[-1]: zf.read(name) for name in zf.namelist()
                   if re.fullmatch(r"gkeras/kernels/[^/]+\.cu", name)}
    assert set(shipped) == set(repo_kernels)
    for name, data in repo_kernels.items():
        assert shipped[name] == data, f"gkeras/kernels/{name} in the wheel differs from kernels/"


def test_wheel_metadata(wheel):
    version = _source_version()
    assert wheel.name.startswith(f"gkeras-{version}-")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = f"gkeras-{version}.dist-info"
        metadata = zf.read(f"{dist_info}/METADATA").decode()
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert "gkeras/__main__.py" in names and "gkeras/info.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert f"Version: {version}" in metadata.splitlines()
    extras = {line.split(":", 1)[1].strip() for line in metadata.splitlines()
              if line.startswith("Provides-Extra:")}
    assert {"cuda12", "cuda13", "test"} <= extras
    assert re.search(r"^gkeras-info\s*=\s*gkeras\.info:main\s*$", entry_points, re.M)


def _venv_bin(venv, name):
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def test_wheel_installs_and_loads_kernels_outside_the_source_tree(wheel, tmp_path):
    venv = tmp_path / "venv"
    # Host packages (numpy, h5py, pip) stay visible; the venv's own site-packages comes first,
    # so gkeras must resolve to the freshly installed wheel. --ignore-installed: where the host
    # already has gkeras (CI installs the project into the host interpreter) pip would otherwise
    # call the requirement satisfied and put nothing in the venv.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True, timeout=120)
    python = _venv_bin(venv, "python")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
         "--quiet", str(wheel)],
        capture_output=True, text=True, env=_clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"),
        timeout=180,
    )
    assert install.returncode == 0, f"{install.stdout}\n{install.stderr}"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    snippet = (
        "import importlib.resources, json\n"
        "import gkeras\n"
        "root = importlib.resources.files('gkeras') / 'kernels'\n"
        "kernels = {p.name: p.read_text() for p in root.iterdir() if p.name.endswith('.cu')}\n"
        "print(json.dumps({'file': gkeras.__file__, 'version': gkeras.__version__,\n"
        "                  'kernels': kernels}))\n"
    )
    # -I: no PYTHONPATH, no user site, no current directory on sys.path.
    result = subprocess.run([str(python), "-I", "-c", snippet], cwd=elsewhere,
                            capture_output=True, text=True, env=_clean_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])

    installed = Path(report["file"]).resolve()
    assert venv.resolve() in installed.parents, f"gkeras imported from {installed}, not the venv"
    assert report["version"] == _source_version()
    repo_kernels = _repo_kernels()
    assert repo_kernels, "kernels/ has no .cu files"
    assert set(report["kernels"]) == set(repo_kernels)
    for name, text in report["kernels"].items():
        assert "__global__" in text, f"gkeras/kernels/{name} has no __global__ kernel"
        assert text == repo_kernels[name].decode(), f"installed {name} differs from kernels/"

    info = subprocess.run([str(_venv_bin(venv, "gkeras-info"))], cwd=elsewhere,
                          capture_output=True, text=True, timeout=120,
                          env=_clean_env(GKERAS_BACKEND="numpy"))
    assert info.returncode == 0, info.stderr
    assert _source_version() in info.stdout
    assert str(installed.parent) in info.stdout
