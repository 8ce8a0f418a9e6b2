"""Environment report: what gkeras runs on here, for bug reports and first-run checks.

Run it as `python -m gkeras`, `python -m gkeras.info` or `gkeras-info`. It reports the
gkeras, Python and NumPy versions, the active backend and its device, whether CuPy is usable
(and why not), the state of the CUDA kernels and where their sources live.

This module never imports CuPy itself: the backend package does that (see DESIGN.md).
"""

import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
from pathlib import Path

# Distribution names CuPy is published under; the first one installed is reported.
_CUPY_DISTRIBUTIONS = ("cupy-cuda13x", "cupy-cuda12x", "cupy-cuda11x", "cupy")


def _cupy_report():
    """`(installed, usable, detail)` for CuPy, without importing it when it is absent."""
    from gkeras import backend as backend_module

    if importlib.util.find_spec("cupy") is None:
        return False, False, "not installed (pip install gkeras[cuda12] or gkeras[cuda13])"
    version = None
    for dist in _CUPY_DISTRIBUTIONS:
        try:
            version = f"{dist} {importlib.metadata.version(dist)}"
            break
        except importlib.metadata.PackageNotFoundError:
            continue
    usable, reason = backend_module.cupy_status()
    label = version or "installed"
    if usable:
        return True, True, f"{label}, usable"
    return True, False, f"{label}, not usable: {reason}"


def _kernel_source_dir():
    """The folder holding the `.cu` sources, or None when none can be found.

    An installed wheel ships them as `gkeras/kernels`; a source checkout (or an editable
    install) keeps them in `kernels/` beside the package.
    """
    import gkeras

    package_dir = Path(gkeras.__file__).resolve().parent
    for candidate in (package_dir / "kernels", package_dir.parent / "kernels"):
        if candidate.is_dir():
            return candidate
    return None


def _kernel_sources_report():
    """Where the `.cu` files are read from: asked from the kernels module when it loads."""
    try:
        kernels = importlib.import_module("gkeras.backend.kernels")
        paths = [kernels.kernel_source_path(name) for name in kernels.KERNEL_FILES]
    except Exception:  # missing module or file: fall back to looking for the folder
        paths = None
    if paths:
        folders = {Path(p).parent for p in paths}
        if len(folders) == 1:
            return f"{folders.pop()} ({', '.join(sorted(Path(p).name for p in paths))})"
        return ", ".join(str(p) for p in paths)
    folder = _kernel_source_dir()
    if folder is None:
        return "not found (neither gkeras/kernels nor kernels/ beside the package)"
    names = sorted(p.name for p in folder.glob("*.cu"))
    listing = ", ".join(names) if names else "no .cu files"
    return f"{folder} ({listing})"


def _format_kernel_status(status):
    """Renders whatever `gkeras.backend.kernels.status()` returns as one line."""
    if isinstance(status, dict):
        if not status:
            return "no kernels registered"
        states = set(map(str, status.values()))
        if len(states) == 1 and len(status) > 1:
            # Usually all files share one state ("not compiled (no GPU backend ...)"): say it once.
            return f"{states.pop()}: {', '.join(status)}"
        return "; ".join(f"{key}: {value}" for key, value in status.items())
    if isinstance(status, (list, tuple)):
        return "; ".join(str(item) for item in status) or "no kernels registered"
    return str(status)


def _kernels_report(backend_name):
    """The compile state of the CUDA kernels, asked from `gkeras.backend.kernels`."""
    try:
        kernels = importlib.import_module("gkeras.backend.kernels")
    except ImportError as exc:
        # The module may be missing, or may need CuPy at import time: both are normal on CPU.
        if backend_name != "cupy":
            return "not compiled (no GPU backend)"
        return f"unavailable ({type(exc).__name__}: {exc})"
    except Exception as exc:  # a broken module is worth showing even on CPU
        return f"gkeras.backend.kernels failed to import ({type(exc).__name__}: {exc})"
    status_fn = getattr(kernels, "status", None)
    if status_fn is None:
        return "unknown (gkeras.backend.kernels has no status())"
    try:
        return _format_kernel_status(status_fn())
    except Exception as exc:  # a report must not crash on the thing it reports
        if backend_name != "cupy":
            return f"not compiled (no GPU backend; {type(exc).__name__}: {exc})"
        return f"status failed ({type(exc).__name__}: {exc})"


def collect():
    """Gathers the environment report.

    Returns:
        A tuple `(rows, ok)`: `rows` is a list of `(label, value)` string pairs in display
        order, and `ok` is False when the requested backend cannot be used here.
    """
    import numpy as np

    import gkeras
    from gkeras import backend as backend_module

    ok = True
    rows = [
        ("gkeras", f"{gkeras.__version__} ({Path(gkeras.__file__).resolve().parent})"),
        ("python", f"{platform.python_version()} ({platform.python_implementation()}, "
                   f"{sys.executable})"),
        ("numpy", np.__version__),
        ("platform", platform.platform()),
    ]
    requested = os.environ.get("GKERAS_BACKEND", "auto")
    backend_name = None
    try:
        bk = backend_module.get_backend()
        backend_name = bk.name
        rows.append(("backend", f"{bk.name} (GKERAS_BACKEND={requested})"))
        rows.append(("device", bk.device_name()))
    except (RuntimeError, ValueError) as exc:
        ok = False
        rows.append(("backend", f"unavailable (GKERAS_BACKEND={requested}): {exc}"))
        rows.append(("device", "unknown"))
    _, _, cupy_detail = _cupy_report()
    rows.append(("cupy", cupy_detail))
    rows.append(("kernels", _kernels_report(backend_name)))
    rows.append(("kernel sources", _kernel_sources_report()))
    return rows, ok


def format_report(rows):
    """Formats `(label, value)` rows as aligned `label: value` lines.

    Args:
        rows: a list of `(label, value)` pairs, as returned by `collect()`.

    Returns:
        The report as one string, one line per row.
    """
    width = max(len(label) for label, _ in rows) + 1
    return "\n".join(f"{label + ':':<{width}} {value}" for label, value in rows)


def main(argv=None):
    """Prints the environment report.

    Args:
        argv: command-line arguments (none are accepted; `-h`/`--help` prints usage).

    Returns:
        The exit status: 0, or 1 when the requested backend cannot be used here.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m gkeras\n\nPrints the gkeras version, backend, device, CuPy and "
              "CUDA kernel status.")
        return 0
    if argv:
        print(f"python -m gkeras takes no arguments, got {argv!r}. Try --help.", file=sys.stderr)
        return 2
    rows, ok = collect()
    print(format_report(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
