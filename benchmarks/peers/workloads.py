"""The five workloads of the peer benchmark: specs, synthetic data and GEMM FLOP counts.

Every framework trains on exactly the same float32 arrays (generated here from a fixed seed,
NumPy only), so the runners differ only in the framework under test. Labels come from a
random "teacher" so the loss actually falls and every framework does real work.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    """One benchmark workload.

    Attributes:
        key: short id (`W1` ... `W5`).
        title: what it is, for the table.
        kind: `mlp_binary`, `mlp_softmax`, `conv_small`, `conv_mnist` or `multi_output`.
        samples: samples per timed epoch.
        epochs: timed epochs per measurement.
        batch_size: training (and prediction) batch size.
        note: how this differs from the workload as the issue states it, if at all.
    """

    key: str
    title: str
    kind: str
    samples: int
    epochs: int
    batch_size: int
    note: str = ""


WORKLOADS = {
    "W1": Workload("W1", "seed MLP 20-64-64-1, BCE, Adam", "mlp_binary", 1000, 10, 32),
    "W2": Workload("W2", "MNIST MLP 784-512-512-10, sparse CE, Adam", "mlp_softmax", 60000, 1,
                   128, note="1 timed epoch of 60000 samples"),
    "W3": Workload("W3", "seed convnet conv32-dense128-10 (logits), batch 32", "conv_small",
                   2048, 1, 32, note="2048 samples per measurement"),
    "W4": Workload("W4", "mnist_cnn conv32-conv64-pool-dense128-10, batch 128", "conv_mnist",
                   1536, 1, 128, note="1536 samples per measurement"),
    "W5": Workload("W5", "seed multi-output 32-64-64 + 2 sigmoid heads, dict BCE", "multi_output",
                   1000, 10, 32),
}

HEADS = ("out_a", "out_b")  # output names of W5


def make_data(workload, seed=0):
    """`(x, y)` float32 inputs and targets for `workload` (y is a dict for W5).

    Images are NHWC (N, 28, 28, 1); runners that want NCHW transpose them once, untimed.
    """
    rng = np.random.default_rng(seed)
    n = workload.samples
    kind = workload.kind
    if kind == "mlp_binary":
        x = rng.standard_normal((n, 20), dtype=np.float32)
        teacher = rng.standard_normal((20, 1), dtype=np.float32)
        y = (x @ teacher + 0.5 * rng.standard_normal((n, 1), dtype=np.float32) > 0)
        return x, y.astype(np.float32)
    if kind == "mlp_softmax":
        x = rng.random((n, 784), dtype=np.float32)
        return x, _teacher_labels(rng, x.reshape(n, -1), 10)
    if kind in ("conv_small", "conv_mnist"):
        x = rng.random((n, 28, 28, 1), dtype=np.float32)
        return x, _teacher_labels(rng, x.reshape(n, -1), 10)
    if kind == "multi_output":
        x = rng.standard_normal((n, 32), dtype=np.float32)
        y = {}
        for name in HEADS:
            teacher = rng.standard_normal((32, 1), dtype=np.float32)
            y[name] = (x @ teacher > 0).astype(np.float32)
        return x, y
    raise ValueError(f"Unknown workload kind {kind!r}.")


def _teacher_labels(rng, flat, classes):
    """Integer labels (int64) of a random linear teacher, centred so all classes occur."""
    teacher = rng.standard_normal((flat.shape[1], classes), dtype=np.float32)
    scores = (flat - flat.mean(axis=0)) @ teacher
    return scores.argmax(axis=1).astype(np.int64)


def warmup_slice(workload):
    """How many samples the warm-up fit uses: one full batch plus the ragged last batch.

    Frameworks that trace per batch shape (Keras on JAX) compile both shapes here, so the
    timed epochs measure the steady state.
    """
    b = workload.batch_size
    rest = workload.samples % b
    return b + rest if rest else 2 * b


def take(data, count):
    """The first `count` samples of `x` or of every array of a dict."""
    if isinstance(data, dict):
        return {k: v[:count] for k, v in data.items()}
    return data[:count]


# --------------------------------------------------------------------- GEMM floor
def _dense_gemms(n, sizes):
    """(M, K, N) of the forward GEMMs of a dense stack on a batch of n."""
    return [(n, a, b) for a, b in zip(sizes[:-1], sizes[1:])]


def forward_gemms(workload, batch=None):
    """(M, K, N) of every forward GEMM of one batch (conv layers as their im2col GEMM)."""
    n = batch or workload.batch_size
    kind = workload.kind
    if kind == "mlp_binary":
        return _dense_gemms(n, [20, 64, 64, 1])
    if kind == "mlp_softmax":
        return _dense_gemms(n, [784, 512, 512, 10])
    if kind == "multi_output":
        return _dense_gemms(n, [32, 64, 64]) + [(n, 64, 1), (n, 64, 1)]
    if kind == "conv_small":  # (N*26*26, 3*3*1) x (9, 32), then the dense layers
        return [(n * 26 * 26, 9, 32)] + _dense_gemms(n, [26 * 26 * 32, 128, 10])
    if kind == "conv_mnist":
        return [(n * 26 * 26, 9, 32), (n * 24 * 24, 9 * 32, 64)] + _dense_gemms(
            n, [12 * 12 * 64, 128, 10])
    raise ValueError(f"Unknown workload kind {kind!r}.")


def train_step_flops(workload, batch=None):
    """Floating-point operations of the GEMMs in one training step (forward + backward).

    Each forward GEMM (M, K, N) costs 2MKN; its backward costs the same twice (weight and
    input gradients), except the first layer's, which needs no input gradient. Elementwise
    work (activations, Adam) is not counted: this is the floor a GEMM-bound step cannot beat.
    """
    total = 0
    for index, (m, k, n) in enumerate(forward_gemms(workload, batch)):
        total += 2 * m * k * n * (2 if index == 0 else 3)
    return total


def predict_flops(workload, batch=None):
    """Forward GEMM FLOPs of one prediction batch."""
    return sum(2 * m * k * n for m, k, n in forward_gemms(workload, batch))
