"""GradMaskCallback across processes: `torchrun` with 2 gloo processes (tests/distrib_gradmask_check.py) against one process.

The statistics of each rank's shard are merged before the masks are made, so both ranks make the masks one process
makes from all the data; frozen rows stay bit-identical to the pre-trained weights on every rank; the ranks end with
identical weights, and 2 processes × half of each batch train the model 1 process × the whole batch trains.
"""
from distrib_launch import maxdiff, two_and_one
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/'tests'/'distrib_gradmask_check.py'
TOL = 1e-5     # weights of order 1, Adam steps of 3e-3 over 8 steps; measured max |Δ| in the section "Across processes" of 21_gradmask
MODES = ('freeze', 'pull')


@pytest.fixture(scope='module')
def runs(tmp_path_factory): return two_and_one(SCRIPT, tmp_path_factory.mktemp('distrib_gradmask'), 'gm_*.pt')

_maxdiff = maxdiff

@pytest.mark.parametrize('mode', MODES)
def test_the_callback_acted_on_merged_statistics(runs, mode):
    assert set(runs) == {'gm_2_0', 'gm_2_1', 'gm_1_0'}
    for r in runs.values():
        assert r[mode]['steps'] > 0 and r[mode]['frozen_frac'] > 0
        assert r[mode]['n_new'] == 64            # each rank saw 32 of the 64 training images; the merged statistics count all
    one = runs['gm_1_0'][mode]['new_moments']
    for rank in ('gm_2_0', 'gm_2_1'):
        for l, (n, mean, m2) in runs[rank][mode]['new_moments'].items():
            assert torch.equal(n, one[l][0])
            torch.testing.assert_close(mean, one[l][1], rtol=1e-6, atol=1e-9)    # float32 batch sums in another order
            torch.testing.assert_close(m2, one[l][2], rtol=1e-6, atol=1e-9)

@pytest.mark.parametrize('mode', MODES)
def test_every_rank_makes_the_one_process_masks(runs, mode):
    one = runs['gm_1_0'][mode]['masks']
    for rank in ('gm_2_0', 'gm_2_1'):
        m = runs[rank][mode]['masks']
        assert list(m) == list(one)
        for l in one: assert torch.equal(m[l], one[l]), l

def test_frozen_rows_keep_the_pretrained_weights_on_every_rank(runs):
    for rank in ('gm_2_0', 'gm_2_1', 'gm_1_0'):
        r = runs[rank]['freeze']
        n = 0
        for l, m in r['masks'].items():
            assert m.dtype == torch.bool and m.any()
            for name in r['tensors'][l]:
                assert torch.equal(r['w'][name][m], r['w0'][name][m]), (rank, name)
                assert not torch.equal(r['w'][name][~m], r['w0'][name][~m]) or 'running' in name, (rank, name)
                n += 1
        assert n >= 6

@pytest.mark.parametrize('mode', MODES)
def test_ranks_identical_and_two_halves_train_the_whole_batch_model(runs, mode):
    w0, w1, w = runs['gm_2_0'][mode]['w'], runs['gm_2_1'][mode]['w'], runs['gm_1_0'][mode]['w']
    assert _maxdiff(w0, w1) == 0.          # DDP averages the same gradients; masks and pulls are the same on every rank
    d = _maxdiff(w, w0)
    assert d <= TOL, d
