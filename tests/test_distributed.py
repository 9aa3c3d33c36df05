"""Distributed training on CPU: `torchrun` with 2 gloo processes (tests/distrib_check.py), compared with one process.

2 processes × half of each batch must train the model that 1 process × the whole batch trains (BatchNorm synchronised
over ranks by `growlearn.distrib.GlooSyncBatchNorm`), and every rank must end with identical weights.
"""
import subprocess, sys
from distrib_launch import launch, maxdiff, two_and_one
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/'tests'/'distrib_check.py'
TOL = 1e-5     # weights are of order 1; Adam steps of 3e-3; measured max |Δ| ≈ 2e-7 over 8 steps

def _launch(out, procs, *args): launch(SCRIPT, out, procs, *args)

@pytest.fixture(scope='module')
def runs(tmp_path_factory): return two_and_one(SCRIPT, tmp_path_factory.mktemp('distrib'), '*.pt')

_maxdiff = maxdiff

def test_ranks_end_identical(runs):
    assert set(runs) == {'2_0', '2_1', '1_0'}
    assert runs['2_0'].keys() == runs['2_1'].keys()
    assert _maxdiff(runs['2_0'], runs['2_1']) == 0.     # DDP averages the same gradients on every rank

def test_two_halves_train_the_whole_batch_model(runs):
    d = _maxdiff(runs['1_0'], runs['2_0'])
    assert d <= TOL, d
    assert int(runs['2_0']['body.0.bn.num_batches_tracked']) == int(runs['1_0']['body.0.bn.num_batches_tracked']) > 0

def test_collectives_merge_and_broadcast(tmp_path):
    "Chan's merge over ranks equals the statistics of all rows; a batch of rank-dependent shape arrives as rank 0's"
    sys.path.insert(0, str(SCRIPT.parent))
    from distrib_check import rank_data
    _launch(tmp_path, 2, '--task', 'collectives')
    r0, r1 = torch.load(tmp_path/'coll_0.pt'), torch.load(tmp_path/'coll_1.pt')
    x = torch.cat([rank_data(0), rank_data(1)])
    for r in (r0, r1):
        n, mean, m2 = r['moments']
        assert torch.equal(n, torch.full((4,), float(len(x)), dtype=torch.float64))
        torch.testing.assert_close(mean, x.mean(0), rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(m2, ((x - x.mean(0)) ** 2).sum(0), rtol=1e-12, atol=1e-12)
        assert torch.equal(r['batch'][0], rank_data(0)[:2]) and torch.equal(r['batch'][1], torch.arange(3))
        assert (r['same'], r['differ'], r['agree']) == (True, False, False)
