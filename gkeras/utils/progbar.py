"""The Keras 3 style progress bar: `32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.6922`."""

import math
import sys
import time

import numpy as np


def _format_number(value):
    value = float(np.mean(value))  # a per-class result shows as its mean, as in Keras
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _format_step_time(seconds, unit="step"):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def redraws_in_place(stream):
    """Whether `stream` shows a line redrawn with `\\r` in place: a terminal, or a Jupyter
    notebook's output (not a terminal, but it handles the carriage return)."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return True
    return "ipykernel" in sys.modules and stream in (sys.stdout, sys.stderr)


class Progbar:
    """Displays training progress.

    Args:
        target: total number of steps, or `None` when unknown.
        width: the bar's width in characters.
        verbose: 1 redraws one line in place (on a terminal), 2 prints one line at the end.
        interval: the least time between two redraws, in seconds.
        stream: where to write (standard output by default).
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stream=None, unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stream = stream or sys.stdout
        self.unit_name = unit_name
        self._dynamic = redraws_in_place(self.stream)
        self._start = time.time()
        self._last_draw = 0.0
        self._after_first_step = None
        self._previous_width = 0
        self.current = 0

    def _step_time(self, current, now):
        if not current:
            return 0.0
        # the first step includes warm-up (graph building, allocation): leave it out
        if self._after_first_step is not None and current > 1:
            return (now - self._after_first_step) / (current - 1)
        return (now - self._start) / current

    def update(self, current, values=None, finalize=None):
        """Shows progress at step `current` with `values`, a list of `(name, float)` pairs."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.time()
        if current == 1 and self._after_first_step is None:
            self._after_first_step = now
        self.current = current
        if self.verbose == 1:
            if not finalize and now - self._last_draw < self.interval:
                return
            self._draw(current, values or [], now, finalize)
            self._last_draw = now
        elif self.verbose == 2 and finalize:
            self._print_line(current, values or [], now)

    def _counter(self, current):
        if self.target:
            digits = int(math.log10(self.target)) + 1
            return f"{current:{digits}d}/{self.target}"
        return f"{current:7d}/Unknown"

    def _metrics_text(self, values):
        return "".join(f" - {name}: {_format_number(value)}" for name, value in values)

    def _draw(self, current, values, now, finalize):
        counter = self._counter(current)
        bar = ""
        if self.target:
            done = int(self.width * min(current, self.target) / self.target)
            if self._dynamic:
                bar = f" \x1b[32m{'━' * done}\x1b[0m\x1b[37m{'━' * (self.width - done)}\x1b[0m"
            else:
                bar = " " + "━" * self.width
        step_time = self._step_time(current, now)
        if self.target and not finalize:
            eta = step_time * (self.target - current)
            if eta > 3600:
                clock = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                clock = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                clock = f"{int(eta)}s"
        else:
            clock = f"{now - self._start:.0f}s"
        text = (f"{counter}{bar} {clock} {_format_step_time(step_time, self.unit_name)}"
                f"{self._metrics_text(values)}")
        visible = len(text) - (len(bar) - 1 - self.width if bar and self._dynamic else 0)
        if self._dynamic:
            padding = " " * max(self._previous_width - visible, 0)
            self.stream.write("\r" + text + padding + ("\n" if finalize else ""))
            self._previous_width = visible
        elif finalize:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _print_line(self, current, values, now):
        step_time = self._step_time(current, now)
        text = (f"{self._counter(current)} - {now - self._start:.0f}s - "
                f"{_format_step_time(step_time, self.unit_name)}{self._metrics_text(values)}")
        self.stream.write(text + "\n")
        self.stream.flush()
