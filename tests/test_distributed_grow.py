"""GrowCallback across processes: `torchrun` with 2 gloo processes (tests/distrib_grow_check.py) vs one process.

Every rank must grow at the same step with the same operations (Net2Wider at 30 %, GradMax units chosen on the held
check batch at 60 %, an identity layer on a validation-loss plateau), end with identical weights and growth logs, and
train what one process trains on whole batches; a growth refused on one rank must be refused, and undone, on all.
"""
from distrib_launch import maxdiff, two_and_one
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/'tests'/'distrib_grow_check.py'
TOL = 1e-5     # weights of order 10; Adam steps of 3e-3; measured max |Δ| 2.4e-7 over 12 steps and 3 growths


@pytest.fixture(scope='module')
def runs(tmp_path_factory): return two_and_one(SCRIPT, tmp_path_factory.mktemp('distrib_grow'), '*.pt')

_maxdiff = maxdiff

def test_every_rank_grows_the_same(runs):
    assert set(runs) == {'2_0', '2_1', '1_0'}
    r0, r1 = runs['2_0'], runs['2_1']
    assert [e['op'] for e in r0['log']] == ['widen', 'widen_grad', 'deepen']      # the callback acted: three growths
    assert r0['log'] == r1['log']                                                  # same steps, same units, same scores
    assert r0['weights'].keys() == r1['weights'].keys() and _maxdiff(r0['weights'], r1['weights']) == 0.
    assert r0['flops'] == r1['flops'] > 0

def test_two_halves_grow_and_train_the_whole_batch_model(runs):
    one, two = runs['1_0'], runs['2_0']
    assert one['weights'].keys() == two['weights'].keys()
    assert tuple(two['weights']['body.1.conv.weight'].shape) == (24, 12, 3, 3)    # both widenings happened
    d = _maxdiff(one['weights'], two['weights'])
    assert d <= TOL, d
    for a, b in zip(one['log'], two['log']):
        assert (a['op'], a['iter'], a['epoch']) == (b['op'], b['iter'], b['epoch'])
        assert abs(a['flops'] / b['flops'] - 1) < 1e-9       # FLOPs of all ranks together = one process's
        if a['op'] == 'widen_grad': assert abs(a['grad_sq_chosen'] / b['grad_sq_chosen'] - 1) < 1e-4
    assert abs(one['flops'] / two['flops'] - 1) < 1e-9

def test_a_refusal_on_one_rank_is_a_refusal_on_all(runs):
    r0, r1 = runs['2_0']['refusal'], runs['2_1']['refusal']
    assert 'refused on this rank' in r1['msg'] and 'was refused on another process' in r0['msg']
    assert r0['same_arch'] and r1['same_arch'] and r0['same_log'] and r1['same_log']
