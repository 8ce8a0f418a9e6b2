"""Backend selection: GKERAS_BACKEND, set_backend, the one-time CuPy probe, import time.

Each scenario runs in a fresh interpreter, with a stand-in `cupy` package on PYTHONPATH
where a failing GPU has to be simulated; the stand-in counts how often it is probed.
"""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import gkeras
from gkeras import backend as backend_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FAKE_CUPY_NO_DEVICE = """
import os

def _probed():
    with open(os.environ["FAKE_CUPY_LOG"], "a") as f:
        f.write("probe\\n")

class cuda:
    @staticmethod
    def is_available():
        _probed()
        return os.environ.get("FAKE_CUPY_DEVICE") == "1"

class RawKernel:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("nvrtc: the fake compiler refuses")
"""

FAKE_CUPY_BROKEN = 'raise ImportError("libcudart.so.12: cannot open shared object file")\n'

SCRIPT = """
import numpy as np
import gkeras
from gkeras import backend, ops
for _ in range(3):
    backend.set_backend("auto")
x = ops.convert_to_tensor(np.ones(3))
for _ in range(5):
    x = ops.exp(x) * 0.5
print("ACTIVE", backend.backend(), backend.cupy_status()[0])
"""


def run_python(code, tmp_path, env_backend=None, fake=None, device="0", block_cupy=False):
    env = {k: v for k, v in os.environ.items() if k not in ("GKERAS_BACKEND", "PYTHONPATH")}
    paths = [REPO]
    if fake is not None:
        package = tmp_path / "fake" / "cupy"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(fake)
        paths.insert(0, str(tmp_path / "fake"))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["FAKE_CUPY_LOG"] = str(tmp_path / "probes.log")
    env["FAKE_CUPY_DEVICE"] = device
    if env_backend is not None:
        env["GKERAS_BACKEND"] = env_backend
    if block_cupy:  # CuPy "not installed", whatever this machine has
        code = "import sys; sys.modules['cupy'] = None\n" + code
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def probes(tmp_path):
    log = tmp_path / "probes.log"
    return log.read_text().count("probe") if log.exists() else 0


def test_auto_without_cupy_is_silent(tmp_path):
    result = run_python(SCRIPT, tmp_path, env_backend="auto", block_cupy=True)
    assert result.returncode == 0, result.stderr
    assert "ACTIVE numpy False" in result.stdout
    assert result.stderr == ""


def test_default_is_auto(tmp_path):
    result = run_python(SCRIPT, tmp_path, block_cupy=True)
    assert result.returncode == 0, result.stderr
    assert "ACTIVE numpy" in result.stdout and result.stderr == ""


@pytest.mark.parametrize(
    "device,reason", [("0", "no CUDA device is visible"), ("1", "the fake compiler refuses")]
)
def test_auto_with_unusable_cupy_falls_back_once_with_one_message(tmp_path, device, reason):
    result = run_python(
        SCRIPT, tmp_path, env_backend="auto", fake=FAKE_CUPY_NO_DEVICE, device=device
    )
    assert result.returncode == 0, result.stderr
    assert "ACTIVE numpy False" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gkeras: using the NumPy backend")
    assert reason in lines[0]
    assert probes(tmp_path) == 1  # set_backend x3, every op, cupy_status: one probe


def test_auto_with_broken_cupy_install_says_why(tmp_path):
    result = run_python(SCRIPT, tmp_path, fake=FAKE_CUPY_BROKEN)
    assert result.returncode == 0, result.stderr
    assert "ACTIVE numpy" in result.stdout
    assert "libcudart.so.12" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_numpy_backend_never_probes(tmp_path):
    code = SCRIPT.replace('backend.set_backend("auto")', "pass").replace(
        "backend.cupy_status()[0]", "0"
    )
    result = run_python(code, tmp_path, env_backend="numpy", fake=FAKE_CUPY_NO_DEVICE)
    assert result.returncode == 0, result.stderr
    assert "ACTIVE numpy" in result.stdout and probes(tmp_path) == 0 and result.stderr == ""


def test_import_does_not_probe(tmp_path):
    result = run_python("import gkeras", tmp_path, fake=FAKE_CUPY_NO_DEVICE)
    assert result.returncode == 0, result.stderr
    assert probes(tmp_path) == 0 and result.stderr == ""


@pytest.mark.parametrize(
    "fake,cause",
    [(None, "ModuleNotFoundError"), (FAKE_CUPY_NO_DEVICE, "no CUDA device is visible")],
)
def test_forcing_cupy_where_it_cannot_work_raises(tmp_path, fake, cause):
    code = "import gkeras\nfrom gkeras import ops\nops.convert_to_tensor([1.0])\n"
    result = run_python(code, tmp_path, env_backend="cupy", fake=fake, block_cupy=fake is None)
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr
    assert cause in result.stderr and "pip install gkeras[cuda12]" in result.stderr


def test_invalid_environment_value(tmp_path):
    code = "import gkeras\nfrom gkeras import ops\nops.convert_to_tensor([1.0])\n"
    result = run_python(code, tmp_path, env_backend="tpu")
    assert result.returncode != 0
    assert "ValueError" in result.stderr and "GKERAS_BACKEND='tpu'" in result.stderr
    assert "'numpy', 'cupy', 'auto'" in result.stderr


def test_environment_value_is_case_and_space_insensitive(tmp_path):
    result = run_python(SCRIPT, tmp_path, env_backend=" NumPy ")
    assert result.returncode == 0, result.stderr
    assert "ACTIVE numpy" in result.stdout


def test_set_backend_in_process():
    previous = backend_module.get_backend().name
    try:
        bk = backend_module.set_backend("numpy")
        assert bk is backend_module.numpy_backend() and backend_module.backend() == "numpy"
        assert backend_module.get_backend() is bk
        x = gkeras.ops.convert_to_tensor(np.ones(2))
        assert isinstance(x.data, np.ndarray)
        with pytest.raises(ValueError, match=r"Unknown backend 'jax'.*'numpy', 'cupy', 'auto'"):
            backend_module.set_backend("jax")
        usable, reason = backend_module.cupy_status()
        if not usable:
            assert reason
            with pytest.raises(RuntimeError, match=r"pip install gkeras\[cuda12\]"):
                backend_module.set_backend("cupy")
            assert backend_module.set_backend("auto") is backend_module.numpy_backend()
    finally:
        backend_module.set_backend(previous)


def test_dispatch_follows_the_data(bk):
    # an op runs on the backend of its inputs, whatever the placement setting says
    x = gkeras.ops.convert_to_tensor(bk.asarray(np.ones(3)))
    previous = backend_module.get_backend().name
    try:
        backend_module.set_backend("numpy")
        y = gkeras.ops.exp(x)
        assert bk.owns(y.data)
    finally:
        backend_module.set_backend(previous)


def test_import_time_budget(tmp_path):
    # a budget check, not a benchmark: best of three fresh interpreters, generous bound
    env = {k: v for k, v in os.environ.items() if k != "GKERAS_BACKEND"}
    env["PYTHONPATH"] = REPO
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import gkeras"], env=env, cwd=tmp_path, check=True, timeout=60
        )
        best = min(best, time.perf_counter() - start)
    assert best < 2.0, f"import gkeras took {best:.2f} s (budget 2 s)"
