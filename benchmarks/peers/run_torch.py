"""The PyTorch runner: an eager `nn.Module` and the plain training loop its users write.

Images go in as NCHW (PyTorch's native layout, converted once before timing). Each epoch
shuffles with `randperm`, and tracks the loss and accuracy the way the Keras runners do
(`.item()` per step is how the loop usually reads them; it is a no-op sync on the CPU).
"""

import numpy as np
import torch
from torch import nn
from workloads import HEADS


class MultiOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.heads = nn.ModuleDict({name: nn.Linear(64, 1) for name in HEADS})

    def forward(self, x):
        h = self.trunk(x)
        return {name: torch.sigmoid(head(h)) for name, head in self.heads.items()}


def build_module(kind):
    if kind == "mlp_binary":
        return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                             nn.Linear(64, 1), nn.Sigmoid())
    if kind == "mlp_softmax":  # logits: CrossEntropyLoss applies the log-softmax itself
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10))
    if kind == "conv_small":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Flatten(),
                             nn.Linear(26 * 26 * 32, 128), nn.ReLU(), nn.Linear(128, 10))
    if kind == "conv_mnist":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12 * 12 * 64, 128),
                             nn.ReLU(), nn.Linear(128, 10))
    if kind == "multi_output":
        return MultiOutput()
    raise ValueError(f"Unknown workload kind {kind!r}.")


class Runner:
    """The runner interface of `child.py` for PyTorch."""

    def __init__(self, workload, seed=0, device="cpu"):
        torch.manual_seed(seed)
        self.workload = workload
        self.device = torch.device(device)
        self.name = "torch" if device == "cpu" else f"torch-{device}"
        self.model = build_module(workload.kind).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)
        self.kind = workload.kind
        self.bce = nn.BCELoss()
        self.ce = nn.CrossEntropyLoss()
        self._cache = {}

    def _tensor(self, array):
        """The array as a device tensor (images NHWC -> NCHW), converted once per array."""
        key = id(array)
        if key not in self._cache:
            if array.ndim == 4:
                array = np.ascontiguousarray(array.transpose(0, 3, 1, 2))
            self._cache[key] = (array, torch.from_numpy(array).to(self.device))
        return self._cache[key][1]

    def _targets(self, y):
        if isinstance(y, dict):
            return {k: self._tensor(v) for k, v in y.items()}
        return self._tensor(y)

    def _loss_and_correct(self, out, yb):
        if self.kind == "multi_output":
            loss = sum(self.bce(out[k], yb[k]) for k in HEADS)
            correct = sum(((out[k] > 0.5) == (yb[k] > 0.5)).sum() for k in HEADS)
        elif self.kind == "mlp_binary":
            loss = self.bce(out, yb)
            correct = ((out > 0.5) == (yb > 0.5)).sum()
        else:
            loss = self.ce(out, yb)
            correct = (out.argmax(dim=1) == yb).sum()
        return loss, correct

    def fit(self, x, y, epochs, on_epoch_end=None):
        xt, yt = self._tensor(x), self._targets(y)
        n, b = xt.shape[0], self.workload.batch_size
        self.model.train()
        mean_loss = 0.0
        for epoch in range(epochs):
            order = torch.randperm(n, device=self.device)
            total, correct = 0.0, 0
            for start in range(0, n, b):
                index = order[start:start + b]
                xb = xt[index]
                yb = {k: v[index] for k, v in yt.items()} if isinstance(yt, dict) else yt[index]
                self.optimizer.zero_grad()
                out = self.model(xb)
                loss, hits = self._loss_and_correct(out, yb)
                loss.backward()
                self.optimizer.step()
                total += loss.item() * len(index)
                correct += int(hits)
            mean_loss = total / n
            if on_epoch_end is not None:
                on_epoch_end(epoch)
        return mean_loss

    def predict(self, x):
        xt = self._tensor(x)
        b = self.workload.batch_size
        self.model.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, xt.shape[0], b):
                out = self.model(xt[start:start + b])
                if self.kind in ("mlp_softmax", "conv_mnist"):
                    out = torch.softmax(out, dim=1)  # the Keras model outputs probabilities
                if isinstance(out, dict):
                    outs.append([out[k].cpu().numpy() for k in HEADS])
                else:
                    outs.append(out.cpu().numpy())
        if isinstance(outs[0], list):
            return [np.concatenate(parts) for parts in zip(*outs)]
        return np.concatenate(outs)

    def synchronize(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
