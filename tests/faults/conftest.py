"""Every test of the fault suite runs in a forked child with a deadline
(:func:`tests.fixtures.processes.run_forked`): a regression that crashes the
process fails its test, one that hangs fails it in minutes, and neither stops
the session."""

import pytest

from tests.fixtures.processes import run_forked

#: Seconds a fault case may take unless it says (``@pytest.mark.deadline``):
#: a spawned worker imports the package (seconds each on a loaded 2-core
#: machine) before it fails.
DEADLINE = 300


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'deadline(seconds): the fault case fails after this long'
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    marker = pyfuncitem.get_closest_marker('deadline')
    deadline = marker.args[0] if marker else DEADLINE
    test = pyfuncitem.obj
    args = {
        name: pyfuncitem.funcargs[name]
        for name in pyfuncitem._fixtureinfo.argnames
    }
    run_forked(lambda: test(**args), deadline, pyfuncitem.nodeid)
    return True
