"""Fixtures of the kernel tests: the CPU emulator library, built once per test session."""

import emulator
import pytest


@pytest.fixture(scope="session")
def emulator_lib(tmp_path_factory):
    """The emulator library compiled from the unmodified kernels/*.cu (g++ -O1)."""
    if emulator.compiler() is None:
        pytest.skip("g++ not found: the CPU emulation of the CUDA kernels needs it")
    return emulator.build(tmp_path_factory.mktemp("emu"))


@pytest.fixture(scope="session")
def emu_session(emulator_lib):
    return emulator.Emulator(emulator_lib)


@pytest.fixture
def emu(emu_session):
    """The emulator in the deterministic forward schedule, with a fresh launch log."""
    emu_session.set_mode(serial=True, reverse=False)
    emu_session.launches.clear()
    yield emu_session
    emu_session.set_mode(serial=True, reverse=False)

