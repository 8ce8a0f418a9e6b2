"""`DataParallel`: synchronous data-parallel training over the ranks of an MPI job.

Every rank holds the whole model. Each step, every rank reads the same global batch (the
per-rank `batch_size` times the number of ranks), keeps its contiguous slice, computes
gradients on it, and the gradients are averaged across ranks (weighted by slice size) in a
few bucketed all-reduces before every rank applies the same update. The trainer calls the
hooks below (`gkeras/training/trainer.py`); users only create the strategy and open its scope.
"""

import contextlib
import numbers
import time
import warnings

from gkeras import random as grandom
from gkeras.autodiff import Tensor, no_grad
from gkeras.backend import backend_of
from gkeras.distribute.buckets import allreduce_arrays, broadcast_arrays
from gkeras.distribute.communicator import create_communicator
from gkeras.layers.node import flatten
from gkeras.training.data_adapter import ArrayDataAdapter, pack_like

_SCOPES = []  # strategies whose scope is open, innermost last
_END = object()


def get_strategy():
    """The strategy of the innermost open `scope()`, or `None` outside every scope.

    Returns:
        A `DataParallel` or `None`.
    """
    return _SCOPES[-1] if _SCOPES else None


def shard_bounds(num_samples, rank, size):
    """`(start, stop)` of `rank`'s contiguous slice of a batch of `num_samples` over `size` ranks.

    The first `num_samples % size` ranks get one sample more than the others.
    """
    base, extra = divmod(num_samples, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def _to_float(value):
    data = value.data if isinstance(value, Tensor) else value
    if isinstance(data, (int, float)):
        return float(data)
    return float(backend_of(data).to_numpy(data))


def _result_from(metric, states):
    """`metric`'s result computed from `states` in place of its own; its state is left as it was."""
    if states is None:
        return _to_float(metric.result())
    own = metric.variables
    saved = [array.copy() for array in own]
    try:
        for array, state in zip(own, states):
            array[...] = state
        return _to_float(metric.result())
    finally:
        for array, value in zip(own, saved):
            array[...] = value


class DataParallel:
    """Synchronous data-parallel training across the processes of an MPI job.

    Launch one process per device (`mpiexec -n 4 python -m mpi4py train.py`); each creates the
    strategy, then builds and compiles the model inside `scope()`. `fit` and `evaluate` then
    work on global batches: **`batch_size` is the per-rank batch**, and each step consumes
    `batch_size * num_replicas` samples, split into contiguous per-rank slices.

    - Initial weights: rank 0's are copied to every rank when `fit` starts (all `model.weights`).
    - Gradients: averaged over ranks (weighted by each rank's share of the global batch, so
      the update equals single-process training with the global batch), packed into buckets
      of about `bucket_cap_mb` so a step makes one or a few all-reduces.
    - Metrics and losses: summed over ranks, so logs, `History` and every epoch-end callback
      decision (EarlyStopping, ReduceLROnPlateau, ...) are global and agree on all ranks.
      Batch-level logs during training are those of the previous step's global state (free
      of extra communication); during evaluation they are this rank's own until the end.
    - Shuffling: each epoch's order is drawn from rank 0's global random generator, so every
      rank reads the same global batches; other ranks keep their own random streams.
    - Only rank 0 prints progress (`is_chief`); `BatchNormalization` statistics and other
      non-trainable weights are copied from rank 0 at the end of every training epoch.
    - A global batch with fewer samples than ranks (the tail of an epoch) is skipped with a
      warning.
    - Generators and `Sequence`s must yield the same global batches on every rank (seed any
      randomness they use); each rank keeps its slice of every batch.

    With no MPI launcher, or a job of one process, the strategy does nothing (and never loads
    mpi4py). When an exception escapes on any rank of a multi-rank job, that rank prints its
    traceback and aborts the whole job.

    Args:
        communicator: `"auto"` (NCCL between GPUs on the CuPy backend when available, MPI
            otherwise; nothing for a single process), `"mpi"`, `"nccl"`, `"local"` (no
            communication), or a `Communicator` instance. `"mpi"` and `"nccl"` are used even
            for a single process (a one-rank smoke test).
        bucket_cap_mb: the size of one all-reduce bucket, in MiB (25 by default).

    Example:

    ```python
    strategy = gkeras.distribute.DataParallel()
    with strategy.scope():
        model = build_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=5)  # 64 per rank
    ```
    """

    def __init__(self, communicator="auto", bucket_cap_mb=25):
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, numbers.Real) \
                or not bucket_cap_mb > 0:
            raise ValueError(
                f"DataParallel: bucket_cap_mb must be a positive number of MiB, got "
                f"{bucket_cap_mb!r}."
            )
        self.bucket_cap_mb = float(bucket_cap_mb)
        self._cap_bytes = max(1, int(self.bucket_cap_mb * 2**20))
        self.communicator = create_communicator(communicator)
        self._fraction = None  # this rank's share of the current global training batch
        self._passes = []  # "train" / "eval" for each sharded pass handing out batches now
        self._snapshot = None  # {id(metric): summed states} from the last gradient all-reduce
        self._model = None
        self.timings = {"reduce_seconds": 0.0, "reduce_calls": 0, "reduce_bytes": 0}

    # ------------------------------------------------------------------ identity
    @property
    def num_replicas(self):
        """The number of ranks training together."""
        return self.communicator.size

    num_replicas_in_sync = num_replicas  # tf.distribute's name

    @property
    def rank(self):
        """This process's rank (0 is the chief)."""
        return self.communicator.rank

    @property
    def local_rank(self):
        """This process's rank among those on its host (it picks the GPU)."""
        return self.communicator.local_rank

    @property
    def is_chief(self):
        """True on rank 0: the rank that prints progress and writes checkpoints."""
        return self.communicator.rank == 0

    @contextlib.contextmanager
    def scope(self):
        """Makes this the current strategy: models compiled inside it train data-parallel.

        Returns:
            A context manager yielding the strategy.
        """
        _SCOPES.append(self)
        try:
            yield self
        finally:
            for i in range(len(_SCOPES) - 1, -1, -1):
                if _SCOPES[i] is self:
                    del _SCOPES[i]
                    break

    def __repr__(self):
        return (f"<DataParallel {self.communicator.name}: {self.communicator.describe()}, "
                f"{self.num_replicas} replica(s)>")

    # ---------------------------------------------------------------- data flow
    def global_batch_size(self, batch_size):
        """The global batch for a per-rank `batch_size`: `batch_size * num_replicas`."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ValueError(
                f"batch_size must be a positive integer (the per-rank batch size under "
                f"DataParallel), got {batch_size!r}."
            )
        return int(batch_size) * self.num_replicas

    def shard(self, data):
        """Wraps a data adapter so that it yields this rank's slice of every global batch."""
        if self.num_replicas == 1:
            return data
        return ShardedData(data, self)

    def prepare_model(self, model, data):
        """Before training: builds the model if needed and copies rank 0's weights to all.

        An unbuilt model is built from the first batch of `data` (this rank's slice), just
        before that batch is handed to the trainer.
        """
        self._model = model
        if self.num_replicas == 1:
            return
        if isinstance(data, ShardedData):
            data.training = True
            data.model = model
        if model.built:
            self.broadcast_weights(model)
        elif isinstance(data, ShardedData):
            data.pending_broadcast = True
        else:
            raise ValueError(f"Model '{model.name}' is not built and no sharded data was given "
                             "to build it from.")

    def broadcast_weights(self, model, root=0):
        """Copies `root`'s values of all `model.weights` to every rank, in place.

        Raises:
            ValueError: on every rank, when the ranks' models do not have the same weights.
        """
        comm = self.communicator
        variables = model.weights
        layout = [(tuple(v.shape), v.data.dtype.name) for v in variables]
        reference = comm.bcast_object(layout, root=root)
        problem = None
        if len(reference) != len(layout):
            problem = f"{len(layout)} weights where rank {root} has {len(reference)}"
        else:
            for v, mine, theirs in zip(variables, layout, reference):
                if mine != theirs:
                    problem = (f"weight '{v.path}' has shape {mine[0]} and dtype {mine[1]} "
                               f"where rank {root} has {theirs[0]} and {theirs[1]}")
                    break
        problems = [(r, p) for r, p in enumerate(comm.allgather_object(problem)) if p]
        if problems:
            raise ValueError(
                f"Model '{model.name}' differs between ranks, so rank {root}'s weights cannot "
                "be copied: " + "; ".join(f"rank {r}: {p}" for r, p in problems) + ". Build "
                "the same model on every rank."
            )
        received = broadcast_arrays(comm, [v.data for v in variables], self._cap_bytes, root)
        if comm.rank != root:
            for v, value in zip(variables, received):
                v.data[...] = value

    def _build_and_broadcast(self, model, x):
        if not model.built:
            with no_grad():
                model(model._to_device(x), training=False)
        self.broadcast_weights(model)

    # ---------------------------------------------------------------- gradients
    def reduce_gradients(self, grads):
        """Averages gradients over ranks: `sum_r (n_r / n) g_r` for slices of `n_r` of `n`.

        Args:
            grads: backend arrays, one per trainable variable, in the same order on every rank.

        Returns:
            The averaged gradients (new arrays), in order.
        """
        grads = list(grads)
        comm = self.communicator
        if comm.size == 1 or not grads:
            return grads
        start = time.perf_counter()
        share = self._fraction if self._fraction is not None else 1.0 / comm.size
        training = self._current_pass() == "train" and self._model is not None
        metrics = self._model.metrics if training else []
        # the metric states ride along (unscaled) so batch logs need no collective of their own
        states = [state for metric in metrics for state in metric.variables]
        arrays = grads + states
        scales = [share] * len(grads) + [1] * len(states)
        summed = allreduce_arrays(comm, arrays, self._cap_bytes, scales)
        if metrics:
            self._snapshot, k = {}, len(grads)
            for metric in metrics:
                count = len(metric.variables)
                self._snapshot[id(metric)] = summed[k:k + count]
                k += count
        self.timings["reduce_seconds"] += time.perf_counter() - start
        self.timings["reduce_calls"] += 1
        self.timings["reduce_bytes"] += sum(a.nbytes for a in arrays)
        return summed[:len(grads)]

    # ------------------------------------------------------------------ metrics
    def metric_values(self, names, metrics):
        """`{name: float}` of the metrics over all ranks, leaving each rank's state untouched.

        Between passes (epoch ends, `evaluate`'s result, the batch methods) the states are
        summed now, a collective every rank makes at the same point. Inside a training pass
        the states summed with the last gradients are used; inside an evaluation pass, this
        rank's own (a progress bar shown by rank 0 alone must not need the other ranks).
        """
        comm = self.communicator
        current = self._current_pass()
        if comm.size == 1 or current == "eval":
            return {name: _to_float(m.result()) for name, m in zip(names, metrics)}
        if current == "train":
            snapshot = self._snapshot or {}
            return {name: _result_from(m, snapshot.get(id(m))) for name, m in zip(names, metrics)}
        states = [state for m in metrics for state in m.variables]
        summed = allreduce_arrays(comm, states, self._cap_bytes) if states else []
        values, k = {}, 0
        for name, metric in zip(names, metrics):
            count = len(metric.variables)
            values[name] = _result_from(metric, summed[k:k + count])
            k += count
        return values

    # ------------------------------------------------------------ pass tracking
    def _current_pass(self):
        return self._passes[-1] if self._passes else None

    def _begin_pass(self, mode):
        self._passes.append(mode)
        if mode == "train":
            self._snapshot = None

    def _end_pass(self):
        mode = self._passes.pop()
        self._fraction = None
        if mode == "train":
            self._snapshot = None

    def sync_non_trainable(self, model):
        """Copies rank 0's non-trainable weights (e.g. BatchNormalization statistics) to all."""
        variables = model.non_trainable_weights
        if self.num_replicas == 1 or not variables:
            return
        received = broadcast_arrays(self.communicator, [v.data for v in variables],
                                    self._cap_bytes)
        if not self.is_chief:
            for v, value in zip(variables, received):
                v.data[...] = value


class ShardedData:
    """A data adapter's batches as this rank's contiguous slice of each global batch.

    Everything else (`x`, `num_samples`, `on_epoch_end`, `close`, ...) is the wrapped
    adapter's.

    Args:
        data: the adapter yielding global `(x, y, sample_weight)` batches.
        strategy: the `DataParallel` it belongs to.
    """

    def __init__(self, data, strategy):
        self.data = data
        self.strategy = strategy
        self.training = False  # set by prepare_model: the training data of fit
        self.model = None
        self.pending_broadcast = False
        self._tail_warned = False

    def __getattr__(self, name):
        data = self.__dict__.get("data")
        if data is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(data, name)

    def _full_batches_without_tail(self):
        """For arrays: the batch count when the last batch is too small to split, else None."""
        data = self.data
        if not isinstance(data, ArrayDataAdapter):
            return None
        full = -(-data.num_samples // data.batch_size)
        tail = data.num_samples - (full - 1) * data.batch_size
        if data.num_batches >= full and tail < self.strategy.num_replicas:
            return full - 1
        return None

    @property
    def num_batches(self):
        trimmed = self._full_batches_without_tail()
        return self.data.num_batches if trimmed is None else trimmed

    @property
    def steps(self):
        steps, trimmed = self.data.steps, self._full_batches_without_tail()
        return steps if steps is None or trimmed is None else min(steps, trimmed)

    def on_epoch_end(self):
        self.data.on_epoch_end()

    def close(self):
        self.data.close()

    def _first_batch(self, batches):
        """The first batch, drawn with rank 0's random state so the shuffle agrees."""
        comm = self.strategy.communicator
        if not getattr(self.data, "shuffle", False):
            return next(batches, _END)
        rng = grandom.global_rng()
        own = rng.bit_generator.state
        rng.bit_generator.state = comm.bcast_object(own, root=0)
        try:
            return next(batches, _END)
        finally:
            if comm.rank != 0:
                rng.bit_generator.state = own

    def _local(self, batch):
        strategy = self.strategy
        size = strategy.num_replicas
        n = int(flatten(batch[0])[0].shape[0])
        if n < size:
            if not self._tail_warned:
                self._tail_warned = True
                warnings.warn(
                    f"A global batch of {n} sample(s) is smaller than the {size} ranks and is "
                    "skipped. Choose a dataset size or batch size whose last batch has at "
                    "least one sample per rank.", RuntimeWarning, stacklevel=3)
            return None
        start, stop = shard_bounds(n, strategy.rank, size)
        strategy._fraction = (stop - start) / n
        return tuple(
            None if part is None else pack_like(part, [None if a is None else a[start:stop]
                                                       for a in flatten(part)])
            for part in batch)

    def __iter__(self):
        strategy = self.strategy
        batches = iter(self.data)
        batch = self._first_batch(batches)
        strategy._begin_pass("train" if self.training else "eval")
        try:
            while batch is not _END:
                local = self._local(batch)
                if local is not None:
                    if self.pending_broadcast:
                        self.pending_broadcast = False
                        strategy._build_and_broadcast(self.model, local[0])
                    yield local
                batch = next(batches, _END)
        finally:  # also when the trainer stops early; no collective may run here
            strategy._end_pass()
        if self.training and self.model is not None:
            strategy.sync_non_trainable(self.model)
