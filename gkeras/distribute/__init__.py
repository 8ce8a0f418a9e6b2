"""Data-parallel training across processes: MPI between ranks, NCCL between GPUs.

```python
import gkeras

strategy = gkeras.distribute.DataParallel()   # rank and size from the MPI launcher
with strategy.scope():
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x, y, batch_size=64, epochs=5)       # batch_size is per rank
```

Launch with `mpiexec -n 4 python -m mpi4py train.py`. See `docs/distributed.md`. Importing
this package loads neither mpi4py nor CuPy; creating a strategy loads mpi4py only when an MPI
launcher started the process.
"""

from gkeras.distribute.communicator import (  # noqa: F401
    Communicator,
    MPICommunicator,
    NCCLCommunicator,
    create_communicator,
    launched_by_mpi,
)
from gkeras.distribute.strategy import DataParallel, ShardedData, get_strategy  # noqa: F401

__all__ = ["Communicator", "DataParallel", "MPICommunicator", "NCCLCommunicator",
           "ShardedData", "create_communicator", "get_strategy", "launched_by_mpi"]
