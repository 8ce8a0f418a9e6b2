"""`python -m gkeras` / `gkeras.info`: the environment report."""

import importlib
import os
import platform
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import gkeras
from gkeras import info

PACKAGE_PARENT = str(Path(gkeras.__file__).resolve().parents[1])


def _run(args, tmp_path, **env_extra):
    """Runs `args` in a fresh process that imports the same gkeras as this test session."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = PACKAGE_PARENT
    env.update(env_extra)
    return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)


def _fields(stdout):
    """The `label: value` lines of a report as a dict."""
    fields = {}
    for line in stdout.splitlines():
        label, sep, value = line.partition(":")
        if sep:
            fields[label.strip()] = value.strip()
    return fields


@pytest.mark.parametrize("module", ["gkeras", "gkeras.info"])
def test_module_entry_points_print_the_report(module, tmp_path):
    result = _run([sys.executable, "-m", module], tmp_path, GKERAS_BACKEND="numpy")
    assert result.returncode == 0, result.stderr
    fields = _fields(result.stdout)
    assert fields["gkeras"].split()[0] == gkeras.__version__
    assert fields["python"].split()[0] == platform.python_version()
    assert fields["numpy"] == np.__version__
    assert fields["backend"].split()[0] == "numpy"
    assert fields["device"] == gkeras.backend.backend_of(np.zeros(1)).device_name()
    for label in ("cupy", "kernels", "kernel sources"):
        assert fields[label], f"empty {label!r} line in:\n{result.stdout}"


def test_report_reflects_cupy_presence(tmp_path):
    result = _run([sys.executable, "-m", "gkeras"], tmp_path, GKERAS_BACKEND="numpy")
    fields = _fields(result.stdout)
    usable, _ = gkeras.backend.cupy_status()
    if usable:
        assert "usable" in fields["cupy"] and "not usable" not in fields["cupy"]
    else:
        assert "not installed" in fields["cupy"] or "not usable" in fields["cupy"]


def test_console_script(tmp_path):
    script = Path(sys.executable).with_name("gkeras-info")
    script = str(script) if script.exists() else shutil.which("gkeras-info")
    if script is None:
        pytest.skip("the gkeras-info console script is not installed (pip install .)")
    result = _run([script], tmp_path, GKERAS_BACKEND="numpy")
    assert result.returncode == 0, result.stderr
    assert _fields(result.stdout)["backend"].startswith("numpy")


def test_invalid_backend_is_reported_with_exit_status_1(tmp_path):
    result = _run([sys.executable, "-m", "gkeras"], tmp_path, GKERAS_BACKEND="tpu")
    assert result.returncode == 1
    backend_line = _fields(result.stdout)["backend"]
    assert "unavailable" in backend_line and "'tpu'" in backend_line
    assert "numpy" in backend_line and "cupy" in backend_line


def test_unknown_arguments_are_rejected(tmp_path):
    result = _run([sys.executable, "-m", "gkeras", "--bogus"], tmp_path)
    assert result.returncode == 2
    assert "--bogus" in result.stderr


def test_help(capsys):
    assert info.main(["--help"]) == 0
    assert "usage: python -m gkeras" in capsys.readouterr().out


def test_main_in_process(capsys, monkeypatch):
    monkeypatch.setenv("GKERAS_BACKEND", "numpy")
    assert info.main([]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"^gkeras:\s+{re.escape(gkeras.__version__)}\b", out, re.M)


def test_format_report_aligns_values():
    text = info.format_report([("a", "1"), ("longer label", "two")])
    assert text.splitlines() == ["a:            1", "longer label: two"]


def test_kernels_missing_on_cpu_is_not_an_error(monkeypatch):
    # A None entry in sys.modules makes the import raise ImportError, as if the module were absent.
    monkeypatch.setitem(sys.modules, "gkeras.backend.kernels", None)
    assert info._kernels_report("numpy") == "not compiled (no GPU backend)"
    assert info._kernels_report(None) == "not compiled (no GPU backend)"
    assert info._kernels_report("cupy").startswith("unavailable (")


def test_broken_kernels_module_is_reported(monkeypatch):
    # A kernels module that raises on import is shown as such, not mistaken for "no GPU".
    real_import = importlib.import_module

    def fake_import(name, package=None):
        if name == "gkeras.backend.kernels":
            raise NameError("oops")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    assert info._kernels_report("numpy") == (
        "gkeras.backend.kernels failed to import (NameError: oops)"
    )


def test_kernels_status_is_formatted(monkeypatch):
    fake = types.ModuleType("gkeras.backend.kernels")
    fake.status = lambda: {"dense.cu": "compiled", "conv2d.cu": "not compiled"}
    monkeypatch.setitem(sys.modules, "gkeras.backend.kernels", fake)
    assert info._kernels_report("cupy") == "dense.cu: compiled; conv2d.cu: not compiled"
    fake.status = lambda: {"dense.cu": "compiled", "conv2d.cu": "compiled"}
    assert info._kernels_report("cupy") == "compiled: dense.cu, conv2d.cu"

    def broken():
        raise RuntimeError("nvrtc failed")

    fake.status = broken
    assert info._kernels_report("cupy") == "status failed (RuntimeError: nvrtc failed)"
    assert info._kernels_report("numpy").startswith("not compiled (no GPU backend")


def test_kernel_sources_line_lists_the_cu_files():
    line = info._kernel_sources_report()
    folder = info._kernel_source_dir()
    assert folder is not None, line
    expected = sorted(p.name for p in folder.glob("*.cu"))
    assert expected, f"no .cu files in {folder}"
    assert line == f"{folder} ({', '.join(expected)})"


def test_kernel_sources_fall_back_without_the_kernels_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "gkeras.backend.kernels", None)
    folder = info._kernel_source_dir()
    assert info._kernel_sources_report().startswith(str(folder))
