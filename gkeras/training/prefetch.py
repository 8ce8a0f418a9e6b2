"""The prefetch queue: workers produce batches while the model trains on the current one.

Three feeders share one contract: `get()` returns the next item in order, `END` once the
source is used up, or raises the producer's exception (the original object for threads, a copy
with the child's traceback chained for processes); `close()` stops the workers.

- `StreamFeeder` reads a plain iterator (a generator). A generator cannot be advanced by two
  threads at once ("generator already executing"), so `next()` always runs under a lock shared
  by every feeder that reads the same iterator; the work after `next()` (checking and
  converting the batch) runs in parallel. Positions are taken under that lock, so batches come
  out in the generator's order.
- `IndexedFeeder` computes `fetch(index)` for each index of an epoch plan (a `Sequence`) on
  worker threads; `ProcessIndexedFeeder` does the same in spawned processes.

Back-pressure: a producer may run at most `max_queue_size` items ahead of the consumer, and
items are admitted by position rather than by arrival, so a slow item is never starved by the
ones after it. `workers=0` runs the source on the calling thread (no timeout is possible then).

Worker threads are daemons named `gkeras-prefetch-<feeder>.<worker>`; `close()` joins them.
A consumer waiting longer than the data timeout (`GKERAS_DATA_TIMEOUT` seconds, default
`DEFAULT_TIMEOUT`) gets a `DataTimeoutError` naming the source instead of hanging.
"""

import itertools
import os
import pickle
import signal
import threading
import time
import traceback
import weakref

DEFAULT_TIMEOUT = 600.0
TIMEOUT_ENV = "GKERAS_DATA_TIMEOUT"
THREAD_PREFIX = "gkeras-prefetch-"
_POLL = 0.05  # seconds between checks of the stop flag / deadline while waiting
_JOIN_TIMEOUT = 1.0  # how long close() waits for a worker stuck in user code
_BATCH, _END, _ERROR = "batch", "end", "error"


class _EndOfData:
    def __repr__(self):
        return "END"


END = _EndOfData()  # returned by get() once the source has nothing more
_feeder_ids = itertools.count()
_iterator_locks = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()
_spawn_env_lock = threading.Lock()


class DataTimeoutError(TimeoutError):
    """The data source produced nothing within the data timeout."""


class RemoteTraceback(Exception):
    """Carries the formatted traceback of an exception raised in a worker process."""

    def __str__(self):
        return "\n" + (self.args[0] if self.args else "")


def resolve_timeout(timeout=None):
    """The data timeout in seconds, or `None` for no limit.

    Args:
        timeout: seconds; `None` reads `GKERAS_DATA_TIMEOUT` and falls back to
            `DEFAULT_TIMEOUT`. Zero, a negative value, `"none"` or `"inf"` mean no limit.

    Returns:
        A positive float, or `None`.
    """
    source = "timeout"
    if timeout is None:
        timeout = os.environ.get(TIMEOUT_ENV, "").strip()
        source = TIMEOUT_ENV
        if timeout == "":
            timeout = DEFAULT_TIMEOUT
            source = "prefetch.DEFAULT_TIMEOUT"
    if isinstance(timeout, str) and timeout.lower() in ("none", "inf", "infinity", "never"):
        return None
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(
            f"{source} must be a number of seconds (or 'none' for no limit), got {timeout!r}."
        ) from None
    if value != value or value <= 0 or value == float("inf"):
        return None
    return value


def _iterator_lock(iterator):
    """One lock per iterator object, shared by every feeder reading it (train + validation)."""
    with _registry_lock:
        try:
            lock = _iterator_locks.get(iterator)
            if lock is None:
                lock = _iterator_locks[iterator] = threading.Lock()
            return lock
        except TypeError:  # not weak-referenceable: a lock of its own is the best we can do
            return threading.Lock()


class _Feeder:
    """Shared state: the ordered result buffer, the stop flag and the worker threads."""

    def __init__(self, workers, max_queue_size, timeout, name):
        self.workers = int(workers)
        self.max_ahead = int(max_queue_size)
        self.timeout = timeout
        self.name = name
        self._id = next(_feeder_ids)
        self._stop = threading.Event()
        # one lock, two wait queues: the consumer waits for an item, workers wait for room;
        # waking only the side that can proceed keeps thread switches off the training thread
        lock = threading.Lock()
        self._cond = threading.Condition(lock)
        self._room = threading.Condition(lock)
        self._items = {}  # position -> (kind, value)
        self._consumed = 0  # the position the consumer waits for next
        self._threads = []
        self._closed = False

    def _start_threads(self, target):
        if self._threads or self.workers == 0:
            return
        for i in range(self.workers):
            thread = threading.Thread(target=target, name=f"{THREAD_PREFIX}{self._id}.{i}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def _wait_for(self, position, what):
        """Blocks until the item at `position` is in; returns it (the consumer side)."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        with self._cond:
            while position not in self._items:
                if self._stop.is_set():
                    raise RuntimeError(f"The data pipeline for {self.name} was closed.")
                if deadline is not None and time.monotonic() >= deadline:
                    raise DataTimeoutError(
                        f"Timed out after {self.timeout:g} s waiting for {what} from "
                        f"{self.name}: it produced nothing in that time and looks blocked. If it "
                        f"is only slow, raise the limit with {TIMEOUT_ENV}=<seconds> (or "
                        f"{TIMEOUT_ENV}=none to wait forever)."
                    )
                self._cond.wait(_POLL)
            item = self._items.pop(position)
            self._consumed = position + 1
            self._room.notify()
        return item

    def close(self):
        """Stops the workers and waits (briefly) for them; safe to call more than once."""
        self._closed = True
        self._stop.set()
        with self._cond:
            self._items.clear()
            self._cond.notify_all()
            self._room.notify_all()
        deadline = time.monotonic() + _JOIN_TIMEOUT
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        # a thread still alive is stuck inside user code; it is a daemon and ends with it
        self._threads = [t for t in self._threads if t.is_alive()]


class StreamFeeder(_Feeder):
    """Prefetches from a plain iterator, in its order, with `workers` threads.

    Args:
        iterator: the source (a generator or any iterator).
        transform: called on each item after `next()` (off the lock); its errors are raised
            to the consumer at that item's position.
        workers: threads reading ahead; 0 reads on the consumer's thread.
        max_queue_size: items that may be ready ahead of the consumer.
        timeout: seconds the consumer waits for one item (`None`: forever).
        name: how errors name the source.
    """

    def __init__(self, iterator, transform, workers=1, max_queue_size=10, timeout=None,
                 name="the generator"):
        super().__init__(workers, max_queue_size, timeout, name)
        self._iterator = iterator
        self._transform = transform
        self._lock = _iterator_lock(iterator)
        self._reserved = 0  # positions handed out to workers so far
        self._done = False  # a worker met the end (or an error): nothing after it
        self._final = None  # the END / error item once the consumer reached it

    def get(self):
        """The next item, or `END`; raises what the iterator (or `transform`) raised."""
        if self._final is not None:
            if self._final[0] == _ERROR:
                raise self._final[1]
            return END
        if self.workers == 0:
            return self._get_inline()
        self._start_threads(self._work)
        kind, value = self._wait_for(self._consumed, "the next batch")
        if kind == _BATCH:
            return value
        self._final = (kind, value)
        if kind == _ERROR:
            raise value
        return END

    def _get_inline(self):
        with self._lock:
            try:
                raw = next(self._iterator)
            except StopIteration:
                self._final = (_END, None)
                return END
        return self._transform(raw)

    def _work(self):
        while not self._stop.is_set():
            with self._cond:
                if self._done:
                    return
                if self._reserved >= self._consumed + self.max_ahead:
                    self._room.wait(_POLL)
                    continue
            # a timed acquire lets a worker notice close() while another one is stuck in next()
            if not self._lock.acquire(timeout=_POLL):
                continue
            try:
                with self._cond:
                    if (self._done or self._stop.is_set()
                            or self._reserved >= self._consumed + self.max_ahead):
                        continue
                    position = self._reserved
                    self._reserved += 1
                try:
                    kind, value = _BATCH, next(self._iterator)
                except StopIteration:
                    kind, value = _END, None
                except BaseException as exc:  # raised again on the consumer's thread
                    kind, value = _ERROR, exc
                if kind != _BATCH:
                    with self._cond:
                        self._done = True
            finally:
                self._lock.release()
            if kind == _BATCH:
                try:
                    value = self._transform(value)
                except BaseException as exc:
                    kind, value = _ERROR, exc
                    with self._cond:
                        self._done = True
            with self._cond:
                if not self._stop.is_set():
                    self._items[position] = (kind, value)
                self._cond.notify()


class IndexedFeeder(_Feeder):
    """Computes `fetch(index)` for an epoch plan of indices, in plan order, on worker threads.

    Args:
        fetch: `index -> item`; its exceptions are raised to the consumer at that position.
        workers: threads; 0 computes on the consumer's thread.
        max_queue_size: items that may be computed ahead of the consumer.
        timeout: seconds the consumer waits for one item (`None`: forever).
        name: how errors name the source.
    """

    def __init__(self, fetch, workers=1, max_queue_size=10, timeout=None, name="the Sequence"):
        super().__init__(workers, max_queue_size, timeout, name)
        self._fetch = fetch
        self._plan = []
        self._epoch = 0  # results of an abandoned epoch carry an old number and are dropped
        self._next_task = 0

    def start_epoch(self, indices):
        """Begins a new pass over `indices` (dropping whatever the last pass left)."""
        with self._cond:
            self._epoch += 1
            self._plan = list(indices)
            self._next_task = 0
            self._consumed = 0
            self._items.clear()
            self._room.notify_all()
        self._start_threads(self._work)

    def get(self):
        """The next item of the plan, or `END` after the last one."""
        position = self._consumed
        if position >= len(self._plan):
            return END
        if self.workers == 0:
            self._consumed += 1
            return self._fetch(self._plan[position])
        kind, value = self._wait_for(position, f"batch {self._plan[position]}")
        if kind == _ERROR:
            raise value
        return value

    def _work(self):
        while not self._stop.is_set():
            with self._cond:
                ready = (self._next_task < len(self._plan)
                         and self._next_task < self._consumed + self.max_ahead)
                if not ready:
                    self._room.wait(_POLL)
                    continue
                epoch, position = self._epoch, self._next_task
                index = self._plan[position]
                self._next_task += 1
            try:
                item = (_BATCH, self._fetch(index))
            except BaseException as exc:  # raised again on the consumer's thread
                item = (_ERROR, exc)
            with self._cond:
                if epoch == self._epoch and not self._stop.is_set():
                    self._items[position] = item
                self._cond.notify()


class ProcessIndexedFeeder(IndexedFeeder):
    """`IndexedFeeder` with worker processes (spawn start method; NumPy backend in children).

    `fetch` is pickled once per worker at start, and again at every epoch when
    `reload_each_epoch` (the Sequence's `on_epoch_end` may have changed its state).
    """

    def __init__(self, fetch, workers=1, max_queue_size=10, timeout=None, name="the Sequence",
                 reload_each_epoch=False):
        super().__init__(fetch, workers, max_queue_size, timeout, name)
        self._reload = reload_each_epoch
        self._processes = []
        self._task_queues = []
        self._results = None
        self._started_epochs = 0

    def _payload(self):
        try:
            return pickle.dumps(self._fetch, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ValueError(
                f"use_multiprocessing=True needs a picklable Sequence, but pickling {self.name} "
                f"failed: {type(exc).__name__}: {exc}. Use threads (use_multiprocessing=False) "
                "or make the Sequence picklable (no open files, locks or lambdas)."
            ) from exc

    def _start_processes(self):
        import multiprocessing

        payload = self._payload()
        context = multiprocessing.get_context("spawn")  # never fork a process holding CUDA
        self._results = context.Queue()
        # children pick their backend at import time: make it NumPy before they start
        with _spawn_env_lock:
            previous = os.environ.get("GKERAS_BACKEND")
            os.environ["GKERAS_BACKEND"] = "numpy"
            try:
                for i in range(self.workers):
                    tasks = context.SimpleQueue()
                    process = context.Process(
                        target=_process_worker, args=(payload, tasks, self._results),
                        name=f"{THREAD_PREFIX}{self._id}.{i}", daemon=True)
                    process.start()
                    self._task_queues.append(tasks)
                    self._processes.append(process)
            finally:
                if previous is None:
                    os.environ.pop("GKERAS_BACKEND", None)
                else:
                    os.environ["GKERAS_BACKEND"] = previous

    def start_epoch(self, indices):
        if self.workers == 0:
            super().start_epoch(indices)
            return
        if not self._processes:
            self._start_processes()
        elif self._reload:
            payload = self._payload()
            for tasks in self._task_queues:
                tasks.put(("reload", payload))
        self._epoch += 1
        self._plan = list(indices)
        self._next_task = 0
        self._consumed = 0
        self._items.clear()
        self._submit()

    def _submit(self):
        while self._next_task < len(self._plan) and \
                self._next_task < self._consumed + self.max_ahead:
            position = self._next_task
            tasks = self._task_queues[position % self.workers]
            tasks.put(("task", self._epoch, position, self._plan[position]))
            self._next_task += 1

    def get(self):
        position = self._consumed
        if position >= len(self._plan):
            return END
        if self.workers == 0:
            return super().get()
        import queue

        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while position not in self._items:
            if self._closed:
                raise RuntimeError(f"The data pipeline for {self.name} was closed.")
            try:
                epoch, pos, kind, value = pickle.loads(self._results.get(timeout=_POLL))
            except queue.Empty:
                self._check_children()
                if deadline is not None and time.monotonic() >= deadline:
                    raise DataTimeoutError(
                        f"Timed out after {self.timeout:g} s waiting for batch "
                        f"{self._plan[position]} from {self.name} (worker processes). If it is "
                        f"only slow, raise the limit with {TIMEOUT_ENV}=<seconds>."
                    ) from None
                continue
            if epoch == self._epoch:
                self._items[pos] = (kind, value)
        kind, value = self._items.pop(position)
        self._consumed = position + 1
        self._submit()
        if kind == _ERROR:
            raise _rebuild_exception(value)
        return value

    def _check_children(self):
        for process in self._processes:
            if process.exitcode is not None:
                raise RuntimeError(
                    f"A worker process of {self.name} ({process.name}) died with exit code "
                    f"{process.exitcode} while producing batches (killed, out of memory, or "
                    "os._exit in the Sequence)."
                )

    def close(self):
        self._closed = True
        for tasks in self._task_queues:
            try:
                tasks.put(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + _JOIN_TIMEOUT
        for process in self._processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self._processes:
            if process.is_alive():  # stuck in __getitem__: it gets no more say
                process.terminate()
                process.join(_JOIN_TIMEOUT)
        for tasks in self._task_queues:
            tasks.close()
        if self._results is not None:
            self._results.close()
            self._results.join_thread()
        self._processes, self._task_queues, self._results = [], [], None
        super().close()


def _process_worker(payload, tasks, results):
    """Entry point of a worker process: runs tasks until it reads `None`."""
    os.environ["GKERAS_BACKEND"] = "numpy"
    # Ctrl-C goes to the whole process group; the parent decides when children stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fetch = pickle.loads(payload)
    while True:
        message = tasks.get()
        if message is None:
            break
        if message[0] == "reload":
            fetch = pickle.loads(message[1])
            continue
        _, epoch, position, index = message
        try:
            out = (epoch, position, _BATCH, fetch(index))
            data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:
            data = pickle.dumps((epoch, position, _ERROR, _exception_payload(exc)),
                                protocol=pickle.HIGHEST_PROTOCOL)
        results.put(data)


def _exception_payload(exc):
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        pickled = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        pickled = None
    return pickled, type(exc).__name__, str(exc), text


def _rebuild_exception(payload):
    """The child's exception (or a RuntimeError naming it) with its traceback as the cause."""
    pickled, type_name, message, text = payload
    exc = None
    if pickled is not None:
        try:
            exc = pickle.loads(pickled)
        except Exception:
            exc = None
    if not isinstance(exc, BaseException):
        exc = RuntimeError(f"{type_name}: {message}")
    exc.__cause__ = RemoteTraceback(text)
    return exc

