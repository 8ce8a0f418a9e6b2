"""Running the `mpi` tests under `mpiexec -n N python -m mpi4py -m pytest -m mpi tests/distribute`.

Every rank runs the same tests in the same order. They are skipped in a plain (single-process)
run; `test_distribute_launch.py` starts them under mpiexec from the regular suite. A failure on
any rank aborts the whole job at once (with that rank's report), so that the other ranks never
wait forever in a collective the failed rank will not make.
"""

import os
import sys

import pytest

from gkeras.distribute import launched_by_mpi


def world_size():
    """The MPI job's size (1 when not launched by MPI; mpi4py is then never imported)."""
    if launched_by_mpi() is None:
        return 1
    from mpi4py import MPI

    return MPI.COMM_WORLD.Get_size()


HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_collection_modifyitems(config, items):
    # (a collection hook sees every item of the session: only this folder's are touched)
    if world_size() >= 2:
        return
    skip = pytest.mark.skip(reason="needs an MPI job of 2+ ranks: mpiexec -n 2 python -m mpi4py "
                                   "-m pytest -m mpi tests/distribute")
    for item in items:
        if "mpi" in item.keywords and str(item.path).startswith(HERE):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and world_size() > 1:
        from mpi4py import MPI

        rank = MPI.COMM_WORLD.Get_rank()
        sys.stderr.write(f"\n[rank {rank}] {report.nodeid} FAILED ({report.when}):\n"
                         f"{report.longreprtext}\n[rank {rank}] aborting the MPI job\n")
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)


@pytest.fixture
def comm():
    """The job's `mpi4py` communicator (MPI.COMM_WORLD)."""
    from mpi4py import MPI

    return MPI.COMM_WORLD
