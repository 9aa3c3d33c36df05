"""EvolvingLayer state: exact growth, checkpoints that restore the next mutations, atomic refusals (plain pytest, ~1 s)."""
import copy
import pytest, torch, torch.nn as nn
from growlearn.core import max_abs_diff
from growlearn.evolve import EvolvingLayer, evolve_step, reset_slot_state


def _state(m): return {k: v.detach().clone() for k, v in m.state_dict().items()}
def _same(a, b): return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _mutated(seed=0, rounds=6):
    torch.manual_seed(seed)
    lay = EvolvingLayer(4, 2, max_ops=24, ops=('add', 'mul', 'sub'), seed=seed)
    xb = torch.randn(256, 4)
    n = 0
    for r in range(rounds):
        n += len(lay.grow(2, xb, grad=torch.randn(256, 2), strategy='gradient' if r % 2 else 'random'))
        with torch.no_grad(): lay.out.weight.add_(0.1 * torch.randn_like(lay.out.weight) * (lay.out.weight != 0))
        with torch.no_grad(): lay.out.weight[:, 4:] += 0.05 * lay.active.float()
        lay.tick()
        k = min(1, len(lay.prunable(1)))
        if k: n += len(lay.prune(k, xb))
    return lay, xb, n


@pytest.mark.exact
def test_grow_is_exact_in_float64_nested():
    "Same layout, new terms 0·h: bit-equal by construction"
    lay, xb, _ = _mutated()
    model = nn.Sequential(nn.Identity(), lay).double()
    before = copy.deepcopy(model)
    lay.grow(3, xb.double(), grad=torch.randn(256, 2, dtype=torch.float64), strategy='gradient')
    assert max_abs_diff(before, model, xb.double()) == 0.


@pytest.mark.exact
def test_state_dict_restores_outputs_and_next_mutations():
    "Loaded tensors are the same bits and the kernels the same shapes: bit-equal by construction"
    a, xb, n = _mutated()
    assert n >= 10
    b = EvolvingLayer(4, 2, max_ops=24, ops=('add', 'mul', 'sub'), seed=999)
    b.load_state_dict(a.state_dict())
    assert max_abs_diff(a, b, xb) == 0.
    g = torch.randn(256, 2)
    assert a.grow(3, xb, grad=g, strategy='gradient') == b.grow(3, xb, grad=g, strategy='gradient')
    assert a.prune(2, xb, min_age=0) == b.prune(2, xb, min_age=0)
    assert a.formulas() == b.formulas()
    assert max_abs_diff(a, b, xb) == 0.


def test_fresh_layer_without_checkpoint_differs():
    a, xb, _ = _mutated()
    c = EvolvingLayer(4, 2, max_ops=24, ops=('add', 'mul', 'sub'), seed=999)
    c.grow(6, xb)
    assert [c.formula(s) for s in range(6)] != [a.formula(s) for s in range(6)]


@pytest.mark.parametrize('bad', ['exhausted', 'too_many_prunes', 'grad_shape', 'load_sizes', 'tiny_batch'])
def test_refusals_leave_layer_unchanged(bad):
    lay, xb, _ = _mutated(rounds=2)
    snap = _state(lay)
    with pytest.raises(ValueError) as e:
        if bad == 'exhausted': lay.grow(lay.n_free() + 1, xb)
        if bad == 'too_many_prunes': lay.prune(len(lay.prunable(0)) + 1, xb, min_age=0)
        if bad == 'grad_shape': lay.grow(1, xb, grad=torch.randn(256, 3), strategy='gradient')
        if bad == 'load_sizes': lay.load_state_dict(EvolvingLayer(4, 3, max_ops=24).state_dict())
        if bad == 'tiny_batch': lay.grow(1, xb[:1])
    assert str(e.value)
    assert _same(snap, _state(lay))


def test_evolve_step_resets_only_changed_slots():
    lay, xb, _ = _mutated(rounds=3)
    y = xb[:, :2] * xb[:, 2:]
    opt = torch.optim.Adam(lay.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad(); nn.functional.mse_loss(lay(xb), y).backward(); opt.step()
    m0 = opt.state[lay.out.weight]['exp_avg'].clone()
    rec = evolve_step(lay, xb, y, nn.functional.mse_loss, opt=opt, n_prune=1, n_grow=2, grow='gradient', min_age=0)[0]
    changed = {4 + s for s in range(lay.max_ops)} & {c for c in range(4, 28) if not torch.equal(opt.state[lay.out.weight]['exp_avg'][:, c], m0[:, c])}
    assert len(rec['grown']) == 2 and len(rec['pruned']) == 1
    assert 1 <= len(changed) <= 3                      # only the pruned / grown slots' columns were touched
    assert torch.equal(opt.state[lay.out.weight]['exp_avg'][:, :4], m0[:, :4])
