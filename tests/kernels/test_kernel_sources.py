"""gkeras.backend.kernels without a GPU: source lookup, name expressions, the lazy RawModule
(against a stand-in for CuPy), compile-error messages, GKERAS_KERNELS, status() and the
benchmark's behaviour on a machine without a GPU."""

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from gkeras.backend import kernels

REPO = Path(__file__).resolve().parents[2]


def test_source_paths_are_the_shipped_or_the_checkout_folder():
    import gkeras

    shipped = Path(gkeras.__file__).resolve().parent / "kernels"  # an installed wheel
    folder = shipped if shipped.is_dir() else REPO / "kernels"
    for name in kernels.KERNEL_FILES:
        path = kernels.kernel_source_path(name)
        assert path.resolve() == (folder / name).resolve() and path.is_file()
    assert sorted(p.name for p in folder.glob("*.cu")) == sorted(kernels.KERNEL_FILES)


def test_installed_wheel_layout_wins(tmp_path, monkeypatch):
    shipped = tmp_path / "gkeras" / "kernels"
    shipped.mkdir(parents=True)
    (shipped / "conv2d.cu").write_text("// shipped copy\n")
    monkeypatch.setattr(kernels.importlib.resources, "files", lambda package: tmp_path / package)
    assert kernels.kernel_source_path("conv2d.cu") == shipped / "conv2d.cu"
    checkout = Path(kernels.__file__).resolve().parents[2] / "kernels"
    if checkout.is_dir():  # a source checkout falls back to its top-level folder
        assert kernels.kernel_source_path("dense.cu") == checkout / "dense.cu"
    else:  # an installed wheel has nowhere else to look
        with pytest.raises(FileNotFoundError, match="dense.cu"):
            kernels.kernel_source_path("dense.cu")


def test_unknown_or_missing_sources_are_named(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"Unknown kernel file 'gemm\.cu'. Expected one of"):
        kernels.kernel_source_path("gemm.cu")
    monkeypatch.setattr(kernels.importlib.resources, "files", lambda package: tmp_path / package)
    monkeypatch.setattr(kernels, "__file__", str(tmp_path / "a" / "b" / "kernels.py"))
    with pytest.raises(FileNotFoundError, match=r"dense\.cu not found: looked for .*installed "
                                                r"wheel.*source checkout"):
        kernels.kernel_source_path("dense.cu")


@pytest.mark.parametrize("name", kernels.KERNEL_FILES)
def test_every_source_opens_with_its_contract_and_defines_its_templates(name):
    text = kernels.kernel_source_path(name).read_text()
    header = text.split("\n\n")[0]
    for word in ("layout", "launch", "fuse"):
        assert word in header.lower(), f"{name} opens without saying its {word}"
    defined = set(re.findall(r"__global__ void (\w+)\(", text))
    wanted = {expr.split("<")[0] for expr in kernels.NAME_EXPRESSIONS[name]}
    assert defined == wanted
    for expr in kernels.NAME_EXPRESSIONS[name]:
        assert re.fullmatch(r"\w+<(float|double)(, (int|long long))?>", expr), expr
        assert expr.replace("float", "double") in kernels.NAME_EXPRESSIONS[name]


def test_dense_activation_codes_match_the_numpy_backend():
    from gkeras.backend.numpy_backend import DENSE_ACTIVATIONS

    text = kernels.kernel_source_path("dense.cu").read_text()
    codes = dict(re.findall(r"GK_(\w+) = (\d+)", text))
    assert [codes[a.upper()] for a in DENSE_ACTIVATIONS] == [str(i) for i in range(7)]


@pytest.mark.parametrize("value, expected", [("", "auto"), ("auto", "auto"), (" NEVER ", "never")])
def test_kernels_mode(monkeypatch, value, expected):
    monkeypatch.setenv("GKERAS_KERNELS", value)
    assert kernels.kernels_mode() == expected
    assert kernels.enabled() == (expected == "auto")


def test_status_without_a_gpu_says_why(monkeypatch):
    monkeypatch.setattr("gkeras.backend.cupy_status", lambda: (False, "no CUDA device"))
    assert kernels.status() == {name: "not compiled (no GPU backend: no CUDA device)"
                                for name in kernels.KERNEL_FILES}
    monkeypatch.setenv("GKERAS_KERNELS", "never")
    assert set(kernels.status().values()) == {"not compiled (disabled by GKERAS_KERNELS=never)"}
    monkeypatch.setenv("GKERAS_KERNELS", "bogus")
    assert all("GKERAS_KERNELS='bogus'" in v for v in kernels.status().values())


class FakeCupy(types.ModuleType):
    """Just enough of CuPy for `_Module`: a RawModule that records what it was given."""

    def __init__(self, fail_with=None):
        super().__init__("cupy")
        self.built = []
        fake = self

        class RawModule:
            def __init__(self, code, name_expressions, options=()):
                fake.built.append((code, options, tuple(name_expressions)))
                self.names = set(name_expressions)

            def get_function(self, name):
                if fail_with:
                    raise RuntimeError(fail_with)
                assert name in self.names, name
                return ("kernel", name)

        self.RawModule = RawModule


def test_each_file_compiles_once_with_line_directive_and_name_expressions(monkeypatch):
    fake = FakeCupy()
    monkeypatch.setitem(sys.modules, "cupy", fake)
    module = kernels._Module("dense.cu")
    assert not module.compiled
    assert module.function("dense_act_bwd<double>") == ("kernel", "dense_act_bwd<double>")
    module.function("dense_bias_act_fwd<float>")
    module.compile()
    assert len(fake.built) == 1 and module.compiled
    code, options, names = fake.built[0]
    path = kernels.kernel_source_path("dense.cu")
    assert code == f'#line 1 "{path}"\n' + path.read_text()
    assert names == tuple(kernels.NAME_EXPRESSIONS["dense.cu"])


def test_a_compile_failure_names_file_and_line_and_is_remembered(monkeypatch):
    path = kernels.kernel_source_path("conv2d.cu")
    log = (f'{path}(42): error: identifier "chanels" is undefined\n'
           f"1 error detected in the compilation of \"{path}\".")
    fake = FakeCupy(fail_with=log)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    module = kernels._Module("conv2d.cu")
    with pytest.raises(kernels.KernelCompileError) as info:
        module.compile()
    first = str(info.value).splitlines()[0]
    assert first == (f"CUDA kernel file conv2d.cu failed to compile at {path}:42: identifier "
                     '"chanels" is undefined')
    with pytest.raises(kernels.KernelCompileError):
        module.function("conv2d_im2col<float>")
    assert len(fake.built) == 1, "a failed compile is not retried on every call"


def test_describe_compile_failure_without_a_line():
    message = kernels.describe_compile_failure("dense.cu", "/x/dense.cu", "nvrtc: out of memory")
    assert message.startswith("CUDA kernel file dense.cu failed to compile at /x/dense.cu: nvrtc")


def test_kernel_ops_validates_its_block_size():
    with pytest.raises(ValueError, match="max_threads must be a multiple of 32 in"):
        kernels.KernelOps(None, None, max_threads=48)


def test_benchmark_without_a_gpu_exits_cleanly(tmp_path):
    from gkeras import backend

    if backend.cupy_status()[0]:
        pytest.skip("a GPU is here: run benchmarks/bench_kernels.py itself")
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_kernels.py"),
                             "--json", str(tmp_path / "out.json")], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no usable GPU here" in result.stdout
    assert not (tmp_path / "out.json").exists()
