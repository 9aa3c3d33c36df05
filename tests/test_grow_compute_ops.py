"""The compute-growth operators (nbs/10_grow.ipynb): `widen_grad` (GradMax: zero outgoing weights, incoming weights chosen
from gradients) keeps the function exactly and beats random units on its score; `stack` copies a trained block; both are
registered, replayable from JSON and undone on failure; GrowCallback passes the targets and loss an operator needs, counts
FLOPs and can warm the learning rate up after growth."""
import json
import pytest, torch, torch.nn as nn, torch.nn.functional as F
from fastai.basics import Learner, set_seed
import fastai.callback.schedule
from growlearn.core import quiet, snapshot, snapshot_diff, max_abs_diff, dtype_rtol
from growlearn.data import digits_dls
from growlearn.models import seed_cnn, mlp
from growlearn.grow import (widen_grad, stack, replay, GrowCallback, GrowthStep, CountFlops, train_step_flops, GROW_OPS,
                            realistic_norms)

def bn_net():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))

@pytest.mark.exact   # eps-level: zero outgoing weights; replay: bit-equal
@pytest.mark.parametrize('make,layer,nxt,new,x', [
    (lambda: mlp([10, 16, 3]), 'fc0', 'fc1', 24, lambda: torch.randn(64, 10)),
    (bn_net, '0', '3', 12, lambda: torch.randn(16, 1, 8, 8)),
    (lambda: seed_cnn(size=8), 'conv1', 'd1', 40, lambda: torch.rand(16, 1, 8, 8))])
def test_widen_grad_keeps_the_function_and_beats_random_units(make, layer, nxt, new, x):
    torch.manual_seed(0)
    m, xb = realistic_norms(make()), x()
    yb = torch.randint(0, 3, (len(xb),))
    res = widen_grad(m, layer, nxt, new, xb=xb, yb=yb, loss_func=F.cross_entropy)
    e = res.entry
    assert e['max_rel_diff'] <= dtype_rtol() and e['checked']   # zero outgoing weights: equal up to summation order
    assert e['grad_sq_chosen'] > e['grad_sq_random'] > 0
    fresh = replay(make(), json.loads(json.dumps([e])))
    fresh.load_state_dict(m.state_dict())
    assert max_abs_diff(m, fresh, xb) == 0.
    assert len(res.migrate) >= 3 and not res.new_params        # replacements, moments migrated

def test_widen_grad_needs_targets_and_is_atomic():
    torch.manual_seed(0)
    m, xb = mlp([10, 16, 3]), torch.randn(8, 10)
    s0 = snapshot(m)
    with pytest.raises(ValueError, match='its targets `yb` and `loss_func`'): widen_grad(m, 'fc0', 'fc1', 24, xb=xb)
    with pytest.raises(ValueError, match='larger than the current width'): widen_grad(m, 'fc0', 'fc1', 16, xb=xb, yb=torch.zeros(8, dtype=torch.long), loss_func=F.cross_entropy)
    assert snapshot_diff(s0, snapshot(m)) == []
    assert GROW_OPS['widen_grad'].needs == ('yb', 'loss_func')
    GrowthStep('widen_grad', at=0.5, layer='fc0', next_layer='fc1', new_width=24)   # the step itself doesn't name them

@pytest.mark.exact   # zero outgoing weights / replay: bit-equal outputs
def test_stack_copies_the_trained_block_and_replays():
    torch.manual_seed(0)
    m, xb = mlp([8, 16, 16, 3]), torch.randn(6, 8)
    s0 = snapshot(m)
    with pytest.raises(ValueError, match="can't follow it"): stack(m, 'fc0', xb=xb)
    assert snapshot_diff(s0, snapshot(m)) == []
    e = stack(m, 'fc1', xb=xb).entry
    assert torch.equal(m.fc1_1.weight, m.fc1.weight) and m.fc1_1.weight is not m.fc1.weight
    assert not e['checked'] and e['max_rel_diff'] > 0          # not function-preserving, measured and logged
    fresh = replay(mlp([8, 16, 16, 3]), json.loads(json.dumps([e])))
    fresh.load_state_dict(m.state_dict())
    assert max_abs_diff(m, fresh, xb) == 0.

@pytest.fixture(scope='module')
def dls(): return digits_dls(size=12, n_per_class=12, bs=32)

def test_callback_counts_flops_and_passes_what_operators_need(dls):
    set_seed(0)
    learn = quiet(Learner(dls, mlp([144, 16, 10]), loss_func=F.cross_entropy))
    xb = dls.train.one_batch()
    class Flat(torch.nn.Module):
        def forward(self, x): return x.flatten(1)
    learn.model = torch.nn.Sequential(Flat(), learn.model)
    plan = [GrowthStep('widen_grad', at=0.5, layer='1.fc0', next_layer='1.fc1', new_width=32)]
    learn.fit(2, 1e-3, cbs=GrowCallback(plan, opt_at_growth='warmup', warmup_steps=3))
    e = learn.growth_log[0]
    assert e['op'] == 'widen_grad' and e['max_rel_diff'] <= dtype_rtol() and e['grad_sq_chosen'] > e['grad_sq_random']
    small = train_step_flops(torch.nn.Sequential(Flat(), mlp([144, 16, 10])), xb[0], xb[1], F.cross_entropy) / len(xb[0])
    assert e['flops'] > 0 and learn.train_flops > e['flops']
    seen = sum(len(b[0]) for b in list(dls.train)[:e['iter']])       # items trained on before growth
    assert abs(e['flops'] / (small * seen) - 1) < 1e-9               # FLOPs up to growth: the small model's steps, counted exactly
    assert learn.model[1].fc0.out_features == 32
