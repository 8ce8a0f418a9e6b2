"""Compile gate: every kernel file compiles for every target, warning-free and without spills.

nvcc (from CUDA_HOME, PATH or /usr/local/cuda) compiles a tiny wrapper per .cu that includes it
and takes the address of every name expression, which instantiates each template for float and
double: PTX for compute_75 and SASS for sm_75, sm_80 and sm_90 with `-Werror all-warnings`,
ptxas reporting (`-Xptxas -v`) 0 spill bytes for every kernel. When libnvrtc is importable (the
`nvidia-cuda-nvrtc` wheel, or a CUDA toolkit) the sources also go through NVRTC exactly as CuPy
sends them: no CUDA headers, `#line` prefix, name expressions resolved to lowered names.
"""

import ctypes
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gkeras.backend import kernels

TARGETS = [("compute_75", "ptx"), ("sm_75", "cubin"), ("sm_80", "cubin"), ("sm_90", "cubin")]
_SPILLS = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_ENTRY = re.compile(r"Compiling entry function '(\w+)' for '(sm_\d+)'")


def find_nvcc():
    for candidate in (os.environ.get("NVCC"),
                      os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "nvcc"),
                      shutil.which("nvcc")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


NVCC = find_nvcc()
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not found (set NVCC or CUDA_HOME): "
                                "the kernel compile gate needs the CUDA compiler")


def _wrapper(tmp_path, name, source=None):
    source = source or kernels.kernel_source_path(name)
    wrapper = tmp_path / f"gate_{name}"
    lines = [f'#include "{source}"', "void* gk_instances[] = {"]
    lines += [f"    (void*)&{expr}," for expr in kernels.NAME_EXPRESSIONS[name]]
    wrapper.write_text("\n".join(lines + ["};", ""]))
    return wrapper


def _supported(target):
    listing = subprocess.run([NVCC, "--list-gpu-arch" if target.startswith("compute")
                              else "--list-gpu-code"], capture_output=True, text=True, timeout=60)
    return target in listing.stdout.split()


@needs_nvcc
@pytest.mark.parametrize("target, kind", TARGETS, ids=[t for t, _ in TARGETS])
@pytest.mark.parametrize("name", kernels.KERNEL_FILES)
def test_kernel_compiles_without_warnings_or_spills(tmp_path, name, target, kind):
    if not _supported(target):
        pytest.skip(f"this nvcc cannot target {target}")
    out = tmp_path / f"{name}.{kind}"
    cmd = [NVCC, f"--{kind}", f"-arch={target}", "--std=c++14", "-Werror", "all-warnings",
           "-o", str(out), str(_wrapper(tmp_path, name))]
    if kind == "cubin":
        cmd[3:3] = ["-Xptxas", "-v,-warn-spills,-warn-lmem-usage"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    expected = len(kernels.NAME_EXPRESSIONS[name])
    if kind == "ptx":
        assert len(re.findall(r"^\.visible \.entry", out.read_text(), re.M)) == expected, log
        return
    entries = _ENTRY.findall(log)
    usage = _SPILLS.findall(log)
    assert len(entries) == expected and len(usage) == expected, log
    for (function, arch), (_, stores, loads) in zip(entries, usage):
        assert arch == target
        assert (int(stores), int(loads)) == (0, 0), f"{function} spills on {target}:\n{log}"


@needs_nvcc
def test_a_compile_error_names_the_kernel_file_and_line(tmp_path):
    text = kernels.kernel_source_path("dense.cu").read_text().splitlines(keepends=True)
    line = next(i for i, t in enumerate(text, 1) if "y[i] = gk_activate" in t)
    text[line - 1] = text[line - 1].replace("gk_activate", "gk_activate_missing")
    broken = tmp_path / "dense.cu"
    broken.write_text("".join(text))
    result = subprocess.run([NVCC, "--ptx", "-arch=compute_75", "-o", str(tmp_path / "x.ptx"),
                             str(_wrapper(tmp_path, "dense.cu", broken))],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    message = kernels.describe_compile_failure("dense.cu", broken, result.stderr)
    assert message.startswith(f"CUDA kernel file dense.cu failed to compile at {broken}:{line}: ")
    assert "gk_activate_missing" in message.splitlines()[0]


# ------------------------------------------------------------------------------ NVRTC
def find_nvrtc():
    patterns = [os.path.join(p, "nvidia", "*", "lib", "libnvrtc.so*") for p in sys.path if p]
    patterns += [os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "lib64",
                              "libnvrtc.so*")]
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if re.search(r"libnvrtc\.so(\.\d+)*$", path):
                return path
    return None


NVRTC = find_nvrtc()


def nvrtc_compile(source, name_expressions, arch="compute_75"):
    """Compiles like CuPy's RawModule: returns (ok, log, {expression: lowered name})."""
    # NVRTC dlopens its builtins library by name: load the one beside it first
    for builtins in glob.glob(os.path.join(os.path.dirname(NVRTC), "libnvrtc-builtins.so*")):
        if ".alt." not in builtins:
            ctypes.CDLL(builtins, mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(NVRTC)
    program = ctypes.c_void_p()

    def check(status, what):
        if status != 0:
            pytest.fail(f"{what} returned NVRTC status {status}")

    check(lib.nvrtcCreateProgram(ctypes.byref(program), source.encode(), b"gkeras.cu", 0, None,
                                 None), "nvrtcCreateProgram")
    try:
        for expr in name_expressions:
            check(lib.nvrtcAddNameExpression(program, expr.encode()), "nvrtcAddNameExpression")
        options = [f"-arch={arch}".encode()]  # CuPy's RawModule adds no dialect option of ours
        status = lib.nvrtcCompileProgram(program, len(options),
                                         (ctypes.c_char_p * len(options))(*options))
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(program, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value + 1)
        lib.nvrtcGetProgramLog(program, log)
        lowered = {}
        if status == 0:
            for expr in name_expressions:
                name = ctypes.c_char_p()
                check(lib.nvrtcGetLoweredName(program, expr.encode(), ctypes.byref(name)),
                      "nvrtcGetLoweredName")
                lowered[expr] = name.value.decode()
        return status == 0, log.value.decode(errors="replace"), lowered
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(program))


needs_nvrtc = pytest.mark.skipif(NVRTC is None, reason="libnvrtc not found (pip install "
                                 "nvidia-cuda-nvrtc, or a CUDA toolkit)")


@needs_nvrtc
@pytest.mark.parametrize("name", kernels.KERNEL_FILES)
def test_kernel_compiles_with_nvrtc_as_cupy_sends_it(name):
    path = kernels.kernel_source_path(name)
    ok, log, lowered = nvrtc_compile(f'#line 1 "{path}"\n' + path.read_text(),
                                     kernels.NAME_EXPRESSIONS[name])
    assert ok, log
    assert set(lowered) == set(kernels.NAME_EXPRESSIONS[name])
    assert all(v.startswith("_Z") for v in lowered.values())
    assert len(set(lowered.values())) == len(lowered)  # float and double are distinct kernels


@needs_nvrtc
def test_nvrtc_errors_point_at_the_cu_file_line():
    path = kernels.kernel_source_path("softmax_crossentropy.cu")
    lines = path.read_text().splitlines(keepends=True)
    target = next(i for i, t in enumerate(lines, 1) if "s = gk_row_reduce(s" in t)
    lines[target - 1] = lines[target - 1].replace("GkSum()", "GkSumm()")
    ok, log, _ = nvrtc_compile(f'#line 1 "{path}"\n' + "".join(lines),
                               kernels.NAME_EXPRESSIONS["softmax_crossentropy.cu"])
    assert not ok
    message = kernels.describe_compile_failure("softmax_crossentropy.cu", path, log)
    assert message.splitlines()[0].startswith(
        f"CUDA kernel file softmax_crossentropy.cu failed to compile at {path}:{target}: ")


def test_kernel_sources_are_emulation_friendly():
    for name in kernels.KERNEL_FILES:
        text = Path(kernels.kernel_source_path(name)).read_text()
        code = re.sub(r"//[^\n]*", "", text)
        assert "warpSize" not in code, f"{name}: use the constant 32, not warpSize"
        for mask in re.findall(r"__shfl_\w+_sync\(\s*([^,]+),", code):
            assert mask.strip() in ("GK_FULL_MASK", "0xffffffffu"), f"{name}: partial mask {mask}"
        assert "#include" not in code, f"{name}: NVRTC gets no headers"
        shared = re.findall(r"__shared__", code)
        assert len(shared) <= 1, f"{name}: dynamic shared memory only, behind GK_DYNAMIC_SHARED"
