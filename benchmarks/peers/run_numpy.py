"""The hand-written NumPy training loop: the floor for framework overhead.

What a careful NumPy user writes by hand: explicit forward and backward passes, im2col
convolutions (a strided view and one GEMM), Adam with in-place updates, the same shuffling,
loss and accuracy bookkeeping the frameworks do. No autodiff, no layers, no callbacks.
"""

import numpy as np
from workloads import HEADS

B1, B2, EPS, LR = 0.9, 0.999, 1e-7, 1e-3


def _glorot(rng, fan_in, fan_out, shape):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def _sigmoid(z):
    return 0.5 * (np.tanh(0.5 * z) + 1.0)


def _windows(x, k):
    """im2col as a strided view: (N, OH, OW, k, k, C) of an NHWC input ('valid', stride 1)."""
    n, h, w, c = x.shape
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, h - k + 1, w - k + 1, k, k, c), (s[0], s[1], s[2], s[1], s[2], s[3]))


class Adam:
    """Adam on a list of parameter arrays, updated in place."""

    def __init__(self, params):
        self.params = params
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        alpha = LR * np.sqrt(1 - B2**self.t) / (1 - B1**self.t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            m *= B1
            m += (1 - B1) * g
            v *= B2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - B2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += EPS
            np.divide(m, tmp, out=tmp)
            tmp *= alpha
            p -= tmp


class NumpyModel:
    """One of the five workload models, written out by hand."""

    def __init__(self, workload, seed=0):
        self.kind = workload.kind
        rng = np.random.default_rng(seed)
        kind = self.kind
        if kind == "mlp_binary":
            sizes = [20, 64, 64, 1]
        elif kind == "mlp_softmax":
            sizes = [784, 512, 512, 10]
        elif kind == "multi_output":
            sizes = [32, 64, 64]
        elif kind == "conv_small":
            self.convs = [(3, 1, 32)]
            sizes = [26 * 26 * 32, 128, 10]
        else:
            self.convs = [(3, 1, 32), (3, 32, 64)]
            sizes = [12 * 12 * 64, 128, 10]
        self.params = []
        for k, c, f in getattr(self, "convs", []):
            self.params += [_glorot(rng, k * k * c, k * k * f, (k, k, c, f)),
                            np.zeros(f, np.float32)]
        for a, b in zip(sizes[:-1], sizes[1:]):
            self.params += [_glorot(rng, a, b, (a, b)), np.zeros(b, np.float32)]
        if kind == "multi_output":
            for _ in HEADS:
                self.params += [_glorot(rng, 64, 1, (64, 1)), np.zeros(1, np.float32)]
        self.adam = Adam(self.params)

    # ------------------------------------------------------------------ forward
    def _forward(self, x):
        """Returns the output(s) and the cache the backward needs."""
        p = self.params
        cache = []
        h = x
        i = 0
        for k, _, f in getattr(self, "convs", []):
            cols = _windows(h, k)
            n, oh, ow = cols.shape[:3]
            cols = cols.reshape(n * oh * ow, -1)
            z = cols @ p[i].reshape(-1, f)
            z += p[i + 1]
            np.maximum(z, 0, out=z)
            cache.append((h, cols, z))
            h = z.reshape(n, oh, ow, f)
            i += 2
        if self.kind == "conv_mnist":
            n, hh, ww, c = h.shape
            view = h.reshape(n, hh // 2, 2, ww // 2, 2, c).transpose(0, 1, 3, 5, 2, 4)
            view = view.reshape(n, hh // 2, ww // 2, c, 4)
            arg = view.argmax(axis=-1)
            cache.append((h.shape, arg))
            h = np.take_along_axis(view, arg[..., None], axis=-1)[..., 0]
        h = h.reshape(h.shape[0], -1)
        dense_count = (len(p) - i) // 2 - (2 if self.kind == "multi_output" else 0)
        for layer in range(dense_count):
            z = h @ p[i]
            z += p[i + 1]
            last = layer == dense_count - 1 and self.kind != "multi_output"
            if not last:
                np.maximum(z, 0, out=z)
            cache.append((h, z))
            h = z
            i += 2
        if self.kind == "multi_output":
            outs = []
            for _ in HEADS:
                outs.append(_sigmoid(h @ p[i] + p[i + 1]))
                i += 2
            return outs, (cache, h)
        if self.kind == "mlp_binary":
            return _sigmoid(h), (cache, h)
        return h, (cache, h)

    # ----------------------------------------------------------------- training
    def train_step(self, x, y):
        """One step: forward, loss, backward, Adam. Returns (loss, correct count)."""
        out, (cache, top) = self._forward(x)
        n = x.shape[0]
        p = self.params
        grads = [None] * len(p)
        i = len(p)
        if self.kind == "multi_output":
            loss = 0.0
            correct = 0
            gtop = np.zeros_like(top)
            for name, prob in reversed(list(zip(HEADS, out))):
                t = y[name]
                i -= 2
                loss += _bce(prob, t)
                correct += int(((prob > 0.5) == (t > 0.5)).sum())
                gz = (prob - t) / n  # BCE through the sigmoid
                grads[i], grads[i + 1] = top.T @ gz, gz.sum(axis=0)
                gtop += gz @ p[i].T
            g = gtop
        elif self.kind == "mlp_binary":
            loss = _bce(out, y)
            correct = int(((out > 0.5) == (y > 0.5)).sum())
            g = (out - y) / n
        else:
            shifted = out - out.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            total = e.sum(axis=1, keepdims=True)
            rows = np.arange(n)
            loss = float((np.log(total[:, 0]) - shifted[rows, y]).mean())
            correct = int((out.argmax(axis=1) == y).sum())
            g = e / total
            g[rows, y] -= 1
            g /= n
        # dense layers, last to first: gz arrives as g (already through the activation)
        for index, (h, z) in enumerate(reversed(cache[-self._dense_count():])):
            i -= 2
            if index > 0 or self.kind == "multi_output":  # through the hidden relu
                g = g * (z > 0)
            grads[i], grads[i + 1] = h.T @ g, g.sum(axis=0)
            if i > 0:
                g = g @ p[i].T
        if self.kind == "conv_mnist":
            shape, arg = cache[len(self.convs)]
            n_, hh, ww, c = shape
            g4 = g.reshape(n_, hh // 2, ww // 2, c)
            full = np.zeros((n_, hh // 2, ww // 2, c, 4), np.float32)
            np.put_along_axis(full, arg[..., None], g4[..., None], axis=-1)
            g = full.reshape(n_, hh // 2, ww // 2, c, 2, 2).transpose(0, 1, 4, 2, 5, 3)
            g = g.reshape(shape)
        for index in reversed(range(len(getattr(self, "convs", [])))):
            k, c, f = self.convs[index]
            x_in, cols, z = cache[index]
            i -= 2
            gz = g.reshape(-1, f) * (z > 0)
            grads[i] = (cols.T @ gz).reshape(k, k, c, f)
            grads[i + 1] = gz.sum(axis=0)
            if index > 0:  # col2im: one strided add per kernel tap
                n_, h, w, _ = x_in.shape
                oh, ow = h - k + 1, w - k + 1
                gcols = (gz @ p[i].reshape(-1, f).T).reshape(n_, oh, ow, k, k, c)
                g = np.zeros(x_in.shape, np.float32)
                for a in range(k):
                    for b in range(k):
                        g[:, a:a + oh, b:b + ow, :] += gcols[:, :, :, a, b, :]
        self.adam.step(grads)
        return loss, correct

    def _dense_count(self):
        convs = len(getattr(self, "convs", []))
        heads = len(HEADS) if self.kind == "multi_output" else 0
        return (len(self.params) - 2 * convs) // 2 - heads

    def predict(self, x):
        out = self._forward(x)[0]
        if self.kind in ("mlp_softmax", "conv_mnist"):  # probabilities, as the Keras models give
            e = np.exp(out - out.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
        return out


def _bce(prob, t):
    p = np.clip(prob, 1e-7, 1 - 1e-7)
    return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())


class Runner:
    """The runner interface of `child.py` for the NumPy loop."""

    name = "numpy"

    def __init__(self, workload, seed=0):
        self.workload = workload
        self.model = NumpyModel(workload, seed)
        self.rng = np.random.default_rng(seed + 1)

    def fit(self, x, y, epochs, on_epoch_end=None):
        b = self.workload.batch_size
        n = len(x)
        loss = 0.0
        for epoch in range(epochs):
            order = self.rng.permutation(n)
            total, seen, correct = 0.0, 0, 0
            for start in range(0, n, b):
                index = order[start:start + b]
                yb = {k: v[index] for k, v in y.items()} if isinstance(y, dict) else y[index]
                step_loss, step_correct = self.model.train_step(x[index], yb)
                total += step_loss * len(index)
                seen += len(index)
                correct += step_correct
            loss = total / seen
            if on_epoch_end is not None:
                on_epoch_end(epoch)
        return loss

    def predict(self, x):
        b = self.workload.batch_size
        outs = [self.model.predict(x[s:s + b]) for s in range(0, len(x), b)]
        if isinstance(outs[0], list):
            return [np.concatenate(parts) for parts in zip(*outs)]
        return np.concatenate(outs)
