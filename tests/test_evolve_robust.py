"""EvolvingLayer / EvolveCallback where a fastai user's session goes off the happy path (plain pytest, ~15 s).

Each test first reproduces what used to go wrong: lr_find mutating, NaN/inf rows or gradients corrupting the layer,
gradient scores of exactly 0 on small batches, a half-loaded state dict, arguments accepted and failing later,
growth stopping silently, `torch.jit.trace` failing.
"""
import copy, warnings
import pytest, torch, torch.nn as nn, torch.nn.functional as F
from fastai.basics import Learner, MSELossFlat, Adam
from growlearn.core import snapshot, snapshot_diff, quiet, dtype_rtol, outputs_diff, opt_state
from growlearn.data import tensor_dls
from growlearn.workflow import tiny_tabular_learner
from growlearn.evolve import (EvolvingLayer, EvolveCallback, NonFiniteBatch, evolve_step, replace_linear, evolve_prepare,
                              last_linear, CONST)


def _state(m): return {k: v.detach().clone() for k, v in m.state_dict().items()}
def _same(a, b): return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _trained_layer(seed=0, n_in=3, n_out=2, max_ops=8, n_ops=4):
    torch.manual_seed(seed)
    lay = EvolvingLayer(n_in, n_out, max_ops=max_ops, seed=seed)
    xb = torch.randn(64, n_in)
    lay.grow(n_ops, xb); lay.tick()
    with torch.no_grad(): lay.out.weight.normal_()
    return lay, xb


def _product_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return x, (x[:, 0] * x[:, 1] + x[:, 2])[:, None]


def _learner(cbs=None, max_ops=8, seed=0):
    x, y = _product_data(512, seed)
    dls = tensor_dls((x[:384], y[:384]), (x[384:], y[384:]), bs=64)
    return quiet(Learner(dls, EvolvingLayer(4, 1, max_ops=max_ops, seed=seed), loss_func=MSELossFlat(), opt_func=Adam, cbs=cbs))


# --- lr_find / validate / get_preds -------------------------------------------------------------------------------

def test_lr_find_longer_than_an_epoch_neither_mutates_nor_records():
    learn = evolve_prepare(tiny_tabular_learner(cbs=EvolveCallback(n_grow=2, grow='gradient')))
    before = snapshot(learn.model)
    with learn.no_bar(): learn.lr_find(num_it=100, show_plot=False)          # 100 iterations: ~25 epochs of 4 batches
    assert not hasattr(learn, 'evolve_log')
    assert [d for d in snapshot_diff(before, snapshot(learn.model)) if not d.startswith('training flag')] == []
    learn.fit(2, 1e-3)
    log = list(learn.evolve_log)
    assert len(log) == 2 and log[0]['grown']
    learn.validate(); learn.get_preds()
    assert learn.evolve_log == log


# --- non-finite rows ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_grow_and_prune_leave_out_nonfinite_rows(bad):
    lay, xb = _trained_layer()
    xn = xb.clone(); xn[5, 1] = bad
    a, b = copy.deepcopy(lay), copy.deepcopy(lay)
    with pytest.warns(UserWarning, match='left out 1 of 64 rows with NaN/inf'): a.grow(2, xn)
    b.grow(2, xb[torch.arange(64) != 5])
    assert _same(_state(a), _state(b))                       # exactly what the clean rows give
    with pytest.warns(UserWarning, match='prune: left out 1 of 64'): a.prune(1, xn)
    b.prune(1, xb[torch.arange(64) != 5])
    assert _same(_state(a), _state(b))
    assert torch.isfinite(a(xb)).all() and torch.isfinite(a.out.bias).all()


def test_a_nan_gradient_row_is_left_out_of_scoring():
    x, y = _product_data()
    lay = EvolvingLayer(4, 1, max_ops=8, seed=0)
    g = (lay(x) - y).detach()
    gn = g.clone(); gn[3] = float('nan')
    a, b = copy.deepcopy(lay), copy.deepcopy(lay)
    with pytest.warns(UserWarning, match='inputs, gradients or op values'): a.grow(2, x, grad=gn, strategy='gradient')
    b.grow(2, x[torch.arange(256) != 3], grad=g[torch.arange(256) != 3], strategy='gradient')
    assert _same(_state(a), _state(b))
    assert 'x0 * x1' in a.formula(0) or 'x1 * x0' in a.formula(0)      # scoring works: the product comes first


def test_a_batch_without_finite_rows_is_refused_and_changes_nothing():
    lay, xb = _trained_layer()
    snap = snapshot(lay)
    xn = xb.clone(); xn[1:] = float('nan')
    for fn in (lambda: lay.grow(1, xn), lambda: lay.prune(1, xn), lambda: lay.recalibrate(xn),
               lambda: lay.grow(1, xb, grad=torch.full((64, 2), float('nan')), strategy='gradient')):
        with pytest.raises(NonFiniteBatch, match='nothing changed'): fn()
        assert snapshot_diff(snap, snapshot(lay)) == []


def test_evolve_step_with_nan_rows_warns_notes_and_keeps_the_model_finite():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), EvolvingLayer(6, 1, max_ops=8, seed=0))
    x, y = _product_data()
    x[7] = float('nan'); y[9] = float('nan')                # one NaN input row, one NaN target (NaN gradient) row
    snap0 = snapshot(model[0])
    with pytest.warns(UserWarning, match="EvolvingLayer '2'"):
        rec = evolve_step(model, x, y, F.mse_loss, n_grow=2, grow='gradient')[0]
    assert len(rec['grown']) == 2 and 'NaN/inf' in rec['note']
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert snapshot_diff(snap0, snapshot(model[0])) == []
    x[:] = float('nan')                                     # nothing finite: the round is skipped, nothing changes
    snap = snapshot(model)
    with pytest.warns(UserWarning, match='too few finite rows'):
        rec = evolve_step(model, x, y, F.mse_loss, n_grow=2, grow='gradient')[0]
    assert rec['grown'] == [] and 'nothing changed' in rec['note']
    assert [d for d in snapshot_diff(snap, snapshot(model)) if 'clock' not in d] == []


# --- gradient scores on small batches -----------------------------------------------------------------------------

def test_scores_work_on_a_batch_smaller_than_the_features():
    "16 rows, 16 inputs: the span of [1, x] is the whole batch, so projecting on it left every score 0"
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 16, generator=g); y = (x[:, 0] * x[:, 1])[:, None]
    lay = EvolvingLayer(16, 1, max_ops=8, seed=0)
    with torch.no_grad(): lay.out.weight.zero_(); lay.out.bias.zero_()
    grad = (lay(x) - y).detach()                              # = -x0·x1
    mul, add = lay.ops.index('mul'), lay.ops.index('add')
    s = lay.candidate_scores(x, grad, [(mul, 0, 1), (add, 0, CONST), (mul, 3, CONST), (add, 0, 1), (mul, 2, 3)])
    assert s[0] > 0 and s[0] == s.max()                      # the product the target needs scores best
    assert s[1] == 0 and s[2] == 0                           # affine copies of one input add nothing
    s = lay.grow(1, x, grad=grad, strategy='gradient')[0]
    assert int(lay.kind[s]) == mul and CONST not in lay.src[s].tolist()   # a product of two values, not an unscored copy


# --- load_state_dict ----------------------------------------------------------------------------------------------

def _sd(m): return {k: v.clone() for k, v in m.state_dict().items()}

def _bad_dicts():
    small = EvolvingLayer(3, 2, max_ops=9, seed=1).state_dict()
    for k in ('dims', 'op_codes'): small.pop(k)
    yield 'sizes without dims', small, True, "is [9, 2], this layer's is [8, 2]"
    a, xb = _trained_layer()
    sd = _sd(a); sd.pop('src')
    yield 'only some tensors', sd, False, 'an EvolvingLayer loads whole'
    sd = _sd(a); sd['src'][0, 0] = 3 + 5; sd['active'][5] = False
    yield 'reads an inactive slot', sd, True, 'reads inactive slot 5'
    sd = _sd(a); sd['src'][0, 0], sd['src'][1, 0] = 3 + 1, 3 + 0
    yield 'cycle', sd, True, 'cycle'
    sd = _sd(a); sd['src'][0, 1] = 99
    yield 'operand out of range', sd, True, 'outside [-1, 11)'


@pytest.mark.parametrize('what,sd,strict,msg', list(_bad_dicts()), ids=[t[0] for t in _bad_dicts()])
def test_load_validates_before_it_writes(what, sd, strict, msg):
    lay, _ = _trained_layer(seed=3)
    with torch.no_grad():
        for k in ('clock', 'out.bias'): sd[k] = sd[k] + 5 if k in sd else sd.get(k)
    snap = snapshot(lay)
    with pytest.raises(ValueError, match='nothing of it was changed') as e: lay.load_state_dict(sd, strict=strict)
    assert msg in str(e.value)
    assert snapshot_diff(snap, snapshot(lay)) == []


# --- arguments, full slots, frozen layers, at_end -----------------------------------------------------------------

@pytest.mark.parametrize('kw,msg', [(dict(sample_size=1), '`sample_size` must be an int >= 2'), (dict(every=0), '`every`'),
                                    (dict(n_grow=-1), '`n_grow`'), (dict(n_candidates=0), '`n_candidates`'),
                                    (dict(n_grow=0, n_prune=0), 'nothing to do'), (dict(at_end='last'), 'unknown at_end')])
def test_callback_refuses_bad_arguments_at_once(kw, msg):
    with pytest.raises(ValueError, match=msg): EvolveCallback(**kw)


def test_sample_size_two_runs():
    learn = _learner(EvolveCallback(sample_size=2, n_grow=1, grow='gradient'))
    learn.fit(2, 1e-2)
    assert [len(r['grown']) for r in learn.evolve_log] == [1, 1]


def test_full_slots_are_reported():
    learn = _learner(EvolveCallback(n_grow=2, n_prune=0), max_ops=2)
    with pytest.warns(UserWarning, match='all 2 slots are in use: nothing grown'): learn.fit(3, 1e-2)
    assert [len(r['grown']) for r in learn.evolve_log] == [2, 0, 0]
    assert all('all 2 slots are in use' in r['note'] for r in learn.evolve_log[1:])


def test_a_frozen_layer_is_left_as_it_is():
    lay, xb = _trained_layer()
    model = nn.Sequential(lay)
    for p in lay.parameters(): p.requires_grad_(False)
    snap = snapshot(model)
    rec = evolve_step(model, xb, n_grow=2, n_prune=1)[0]
    assert rec['grown'] == [] and rec['note'].startswith('frozen')
    assert snapshot_diff(snap, snapshot(model)) == []


@pytest.mark.parametrize('at_end,n_log,pruned_last', [('grow', 3, False), ('skip', 2, None), ('all', 3, True)])
def test_at_end(at_end, n_log, pruned_last):
    learn = _learner(EvolveCallback(n_grow=2, n_prune=1, at_end=at_end, min_age=0))
    learn.fit(3, 1e-2)
    assert len(learn.evolve_log) == n_log
    if pruned_last is not None: assert bool(learn.evolve_log[-1]['pruned']) == pruned_last


def test_fine_tune_of_one_epoch_grows_after_each_fit():
    learn = _learner(EvolveCallback(n_grow=2, n_prune=1))
    learn.fine_tune(1, 1e-2, freeze_epochs=1)
    assert [len(r['grown']) for r in learn.evolve_log] == [2, 2]


# --- replace_linear -----------------------------------------------------------------------------------------------

def test_replace_linear_keeps_function_group_and_optimizer_state():
    learn = tiny_tabular_learner()
    learn.fit(1, 1e-2)
    name = last_linear(learn.model)
    lin = learn.model.get_submodule(name)
    xb = learn.dls.valid.one_batch()[:2]
    learn.model.eval()
    with torch.no_grad(): y0 = learn.model(*xb)
    old_avg = opt_state(learn.opt)[lin.weight]['grad_avg'].clone()
    lay = replace_linear(learn, name, max_ops=8)
    with torch.no_grad(): y1 = learn.model(*xb)
    d_abs, d_rel = outputs_diff([y0], [y1])
    assert d_rel <= dtype_rtol(), (d_abs, d_rel)
    st = opt_state(learn.opt)[lay.out.weight]['grad_avg']
    assert torch.equal(st[:, :lin.in_features], old_avg) and not st[:, lin.in_features:].any()
    assert any(lay.out.weight is p for p in learn.opt.param_lists[-1])
    learn.fit(1, 1e-2)


def test_replace_linear_refuses_a_non_linear():
    learn = tiny_tabular_learner()
    snap = snapshot(learn.model)
    with pytest.raises(TypeError, match="not an nn.Linear; the model's last Linear layers are"): replace_linear(learn, 'layers.0.1')
    assert snapshot_diff(snap, snapshot(learn.model)) == []


# --- torch.jit.trace ----------------------------------------------------------------------------------------------

def test_jit_trace_records_the_current_graph():
    lay, xb = _trained_layer(n_ops=6)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)          # torch says trace is deprecated in favour of torch.export
        traced = torch.jit.trace(lay, xb)
    x = torch.randn(10, 3)
    xa, xt = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yt = lay(xa), traced(xt)
    ya.sum().backward(); yt.sum().backward()
    assert outputs_diff([ya.detach(), xa.grad], [yt.detach(), xt.grad])[1] <= dtype_rtol()


# --- exactness (bit-equality only where it holds by construction) -------------------------------------------------

@pytest.mark.exact
def test_growth_is_bit_exact_and_train_eval_agree():
    "Same layout, the new terms are 0·h: growth cannot change a bit; train and eval run the very same kernels"
    lay, xb = _trained_layer(n_ops=3)
    y0 = lay(xb).detach()
    lay.grow(3, xb, grad=torch.randn(64, 2), strategy='gradient')
    lay.train(); y1 = lay(xb).detach()
    lay.eval(); y2 = lay(xb).detach()
    assert torch.equal(y0, y1) and torch.equal(y1, y2)


@pytest.mark.exact
def test_an_op_free_layer_equals_its_linear_to_rounding():
    "Not bit-equal: the layer's `F.linear` has a longer row (zeros), and another kernel may add in another order"
    for seed in range(20):
        torch.manual_seed(seed)
        lin = nn.Linear(37, 5)
        lay = EvolvingLayer.from_linear(lin, max_ops=16)
        x = torch.randn(33, 37)
        with torch.no_grad(): d_abs, d_rel = outputs_diff([lin(x)], [lay(x)])
        assert d_rel <= dtype_rtol(), (seed, d_abs, d_rel)
