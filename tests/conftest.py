"""Run under pytest-xdist (`make test`: `-n 2 --dist loadgroup`): the tests of one file stay on one worker, so a
module-scoped fixture (a site build, a 2-process launch) runs once; the notebooks, the bulk of the time, spread out."""
import pytest

SPREAD = {'test_notebooks'}     # files whose tests are independent and long: one notebook per test, any worker

def pytest_collection_modifyitems(config, items):
    for item in items:
        mod = item.module.__name__.rpartition('.')[2]
        if mod not in SPREAD: item.add_marker(pytest.mark.xdist_group(mod))
