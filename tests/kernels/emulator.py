"""Builds the CPU CUDA emulator from the unmodified kernels/*.cu and runs `Launch`es through it.

`build()` compiles `cuda_emu.cpp` and one wrapper per kernel file (the .cu `#include`d inside an
anonymous namespace, every name expression of `kernels.NAME_EXPRESSIONS` registered) with g++
into a shared library; `Emulator.run` executes a `gkeras.backend.kernels.Launch` on NumPy arrays
the way a RawKernel call would (cuLaunchKernel-style parameter array), after checking the typed
scalars against the kernel's C++ signature and that every array is C-contiguous.
"""

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from gkeras.backend import kernels
from gkeras.backend.numpy_backend import NumpyBackend

HERE = Path(__file__).resolve().parent
SANITIZERS = {
    None: [],
    "thread": ["-fsanitize=thread"],
    "address": ["-fsanitize=address", "-fno-omit-frame-pointer"],
}
# serial: deterministic fibers, first runnable thread first; threads: one OS thread per CUDA thread
SCHEDULES = {
    "serial": (True, False),
    "reverse": (True, True),
    "threads": (False, False),
}
_CORE_OBJECTS = {}  # compiler flags -> compiled cuda_emu.o, reused by later builds
_ARG_CODES = {np.int32: "i", np.int64: "q", np.float32: "f", np.float64: "d"}
_CTYPES = {"i": ctypes.c_int32, "q": ctypes.c_int64, "f": ctypes.c_float, "d": ctypes.c_double}


def compiler():
    """The g++ to build with, or None."""
    return shutil.which(os.environ.get("CXX", "g++"))


def wrapper_source(filename, source_path, names):
    """C++ that compiles one .cu file on the CPU and registers its instantiations."""
    lines = [
        f"// generated from {filename}",
        f'#include "{HERE / "cuda_emu.h"}"',
        "namespace {",
        f'#include "{source_path}"',
        "[[maybe_unused]] const bool gk_registered[] = {",
    ]
    lines += [f'    emu::register_kernel("{n}", emu::make_entry(&{n})),' for n in names]
    lines += ["};", "}  // namespace", ""]
    return "\n".join(lines)


def build(out_dir, sources=None, sanitize=None, opt="-O1", names=None):
    """Compiles the emulator library into `out_dir` and returns its path.

    Args:
        out_dir: a directory for objects and the library.
        sources: `{kernel file name: path}`; defaults to every file at `kernel_source_path`.
        sanitize: None, `"thread"` or `"address"`.
        opt: the optimisation flag.
        names: `{kernel file name: [name expressions]}` for files outside
            `kernels.NAME_EXPRESSIONS`.
    """
    names = {**kernels.NAME_EXPRESSIONS, **(names or {})}
    cxx = compiler()
    if cxx is None:
        raise RuntimeError("g++ not found")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if sources is None:
        sources = {name: kernels.kernel_source_path(name) for name in kernels.KERNEL_FILES}
    flags = ["-std=c++20", opt, "-g", "-fPIC", "-pthread", "-Wall", "-Wextra", "-Werror",
             *SANITIZERS[sanitize]]
    # The runtime object does not depend on the kernels: compile it once per flag set.
    core = _CORE_OBJECTS.get(tuple(flags))
    units = [] if core is not None and core.exists() else [HERE / "cuda_emu.cpp"]
    for name, path in sources.items():
        wrapper = out_dir / f"emu_{name.replace('.', '_')}.cpp"
        wrapper.write_text(wrapper_source(name, Path(path), names[name]))
        units.append(wrapper)
    jobs = []
    for unit in units:
        obj = out_dir / (unit.stem + ".o")
        cmd = [cxx, *flags, "-c", str(unit), "-o", str(obj)]
        jobs.append((obj, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True)))
    errors = []
    for obj, job in jobs:
        output, _ = job.communicate(timeout=600)
        if job.returncode:
            errors.append(f"{obj.name}:\n{output}")
    if errors:
        raise RuntimeError("emulator build failed:\n" + "\n".join(errors))
    objects = [str(obj) for obj, _ in jobs]
    if units and units[0].name == "cuda_emu.cpp":
        _CORE_OBJECTS[tuple(flags)] = jobs[0][0]
    else:
        objects.append(str(core))
    lib = out_dir / "libgkeras_emu.so"
    # -Bsymbolic: several builds (mutants) loaded in one process each keep their own runtime
    subprocess.run([cxx, *flags, "-shared", "-Wl,-Bsymbolic", "-o", str(lib), *objects],
                   check=True, capture_output=True, text=True, timeout=300)
    return lib


class EmulatorError(RuntimeError):
    """A launch the emulator refused or that failed (divergent barrier, deadlock, bad args)."""


class Emulator:
    """ctypes front of the emulator library."""

    def __init__(self, lib_path):
        self.lib = ctypes.CDLL(str(lib_path))
        self.lib.emu_set_mode.argtypes = [ctypes.c_int, ctypes.c_int]
        self.lib.emu_kernel_count.restype = ctypes.c_int
        self.lib.emu_kernel_name.restype = ctypes.c_char_p
        self.lib.emu_kernel_name.argtypes = [ctypes.c_int]
        self.lib.emu_launch.restype = ctypes.c_int
        self.lib.emu_launch.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint),
            ctypes.POINTER(ctypes.c_uint), ctypes.c_longlong, ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_char_p, ctypes.c_int,
        ]
        self.launches = []  # every Launch run, for tests that look at the plan

    def set_mode(self, serial=True, reverse=False):
        """serial: deterministic fibers (else one OS thread per CUDA thread); reverse: order."""
        self.lib.emu_set_mode(int(serial), int(reverse))

    def set_schedule(self, name):
        """One of `SCHEDULES`: "serial", "reverse" (threads and blocks backwards), "threads"."""
        self.set_mode(*SCHEDULES[name])

    def names(self):
        return {self.lib.emu_kernel_name(i).decode() for i in range(self.lib.emu_kernel_count())}

    def run(self, launch):
        """Executes a `kernels.Launch` whose arrays are NumPy arrays."""
        holders, codes = [], []
        for index, arg in enumerate(launch.args):
            if isinstance(arg, np.ndarray):
                if not arg.flags.c_contiguous:
                    raise EmulatorError(f"{launch.kernel}: argument {index} is not C-contiguous "
                                        "(a raw kernel ignores strides)")
                holders.append(ctypes.c_void_p(arg.ctypes.data))
                codes.append("p")
            elif type(arg) in _ARG_CODES:
                code = _ARG_CODES[type(arg)]
                holders.append(_CTYPES[code](arg.item()))
                codes.append(code)
            else:
                raise EmulatorError(f"{launch.kernel}: argument {index} is {type(arg).__name__}, "
                                    "not an array or a typed NumPy scalar")
        params = (ctypes.c_void_p * max(1, len(holders)))(
            *[ctypes.cast(ctypes.pointer(h), ctypes.c_void_p) for h in holders])
        grid = (ctypes.c_uint * 3)(*launch.grid)
        block = (ctypes.c_uint * 3)(*launch.block)
        error = ctypes.create_string_buffer(4096)
        status = self.lib.emu_launch(launch.kernel.encode(), "".join(codes).encode(), grid, block,
                                     int(launch.shared_mem), params, error, len(error))
        self.launches.append(launch)
        if status:
            raise EmulatorError(f"{launch.kernel}: {error.value.decode()}")

    def ops(self, **options):
        """A `KernelOps` on NumPy whose kernels run in this emulator."""
        return kernels.KernelOps(np, self.run, **options)


class EmulatedBackend(kernels.KernelBackendMixin, NumpyBackend):
    """The NumPy backend with the CuPy backend's kernel overrides, kernels run by the emulator."""

    def __init__(self, ops):
        super().__init__()
        self._ops = ops

    def kernel_ops(self):
        return self._ops
