"""EvolvingLayer as formulas: sympy expressions that compute what the layer computes, ops that carry weight vs dead ones,
`prune_dead` (plain pytest, a few seconds)."""
import numpy as np, pytest, sympy as sp, torch, torch.nn.functional as F
from growlearn.core import dtype_rtol
from growlearn.evolve import EvolvingLayer, evolve_step, tidy_expression, CONST
from growlearn.experiments.evolve_bench import random_graph


def _trained(seed=0):
    "A layer trained on y = x0*x1 + x2 with gradient growth (a few dead ops are left over)"
    torch.manual_seed(seed)
    x = torch.randn(1024, 3); y = (x[:, 0] * x[:, 1] + x[:, 2])[:, None]
    lay = EvolvingLayer(3, 1, max_ops=12, seed=seed)
    opt = torch.optim.Adam(lay.parameters(), lr=3e-2)
    for r in range(5):
        for _ in range(80): opt.zero_grad(); F.mse_loss(lay(x), y).backward(); opt.step()
        if r < 4: evolve_step(lay, x[:512], y[:512], F.mse_loss, opt=opt, n_prune=1, n_grow=2, grow='gradient')
    return lay, x


def _numpy(expr, n_in, x):
    f = sp.lambdify(sp.symbols(f'x0:{n_in}'), expr, 'numpy')
    return np.broadcast_to(f(*x.double().numpy().T), (len(x),))


@pytest.mark.parametrize('seed', range(12))
def test_expression_equals_layer_float64(seed):
    "Unpruned (threshold 0), the expression evaluated by numpy is the layer's function: random graphs of all five op kinds"
    lay, x = random_graph(seed)
    with torch.no_grad(): y = lay(x)
    for o, e in enumerate(lay.expressions(threshold=0)):
        d = np.abs(_numpy(e, lay.in_features, x) - y[:, o].numpy()).max()
        assert d <= 1e-10 * max(1., float(y[:, o].abs().max())), (seed, o, d)


def test_expression_equals_trained_layer_to_1e6():
    lay, x = _trained()
    y = lay(x).detach().double()[:, 0].numpy()
    d = np.abs(_numpy(lay.expressions(threshold=0)[0], 3, x) - y).max()
    assert d <= 1e-6 * max(1., np.abs(y).max()), d


def test_pruned_rounded_expression_is_the_target():
    lay, x = _trained()
    e = lay.expressions(threshold=1e-2, tolerance=1e-3)[0]
    assert sp.simplify(e - sp.sympify('x0*x1 + x2')) == 0, e
    assert sp.simplify(lay.expressions(threshold=1e-2)[0] - sp.sympify('x0*x1 + x2')) != 0   # unrounded: floats near 1


def test_live_and_dead_ops():
    lay, x = _trained()
    live, act = lay.live_slots(1e-2), set(lay.slot_levels())
    assert set(live) < act                                             # some grown ops carry no weight
    n_in, src = lay.in_features, lay.src.tolist()
    w = lay.out.weight.detach().abs()
    for s in act - set(live):
        assert float(w[:, n_in + s].max()) <= 1e-2                    # dead: no weight ...
        assert not any(n_in + s in src[r] for r in live)              # ... and no live op reads it
    for s in live: assert float(w[:, n_in + s].max()) > 1e-2 or any(n_in + s in src[r] for r in live)


@pytest.mark.exact
def test_prune_dead_at_zero_is_bit_exact():
    "Ops whose weights are exactly 0 (and no live reader): removing them adds 0 instead of 0·h to the same sums"
    lay, x = _trained()
    dead = sorted(set(lay.slot_levels()) - set(lay.live_slots(1e-2)))
    with torch.no_grad(): lay.out.weight[:, [lay.in_features + s for s in dead]] = 0.
    y0 = lay(x).detach()
    gone = lay.prune_dead()
    assert sorted(gone) == dead and not any(lay.active[s] for s in gone)
    assert torch.equal(lay(x).detach(), y0)


def test_prune_dead_with_threshold_changes_little():
    lay, x = _trained()
    y0 = lay(x).detach()
    gone = lay.prune_dead(1e-2)
    assert gone and lay.live_slots(1e-2) == sorted(lay.slot_levels())
    assert float((lay(x).detach() - y0).abs().max()) <= 1e-2 * len(gone) * 10


def test_describe_separates_and_shows_formulas(capsys):
    lay, x = _trained()
    lay.describe()
    out = capsys.readouterr().out
    assert 'carry weight' in out and 'carry none' in out and 'y0 = ' in out
    n_live, n_dead = len(lay.live_slots(1e-2)), len(lay.slot_levels()) - len(lay.live_slots(1e-2))
    assert f"{n_live} carry weight" in out and f"{n_dead} do not" in out


def test_tidy_expression():
    x0, x1 = sp.symbols('x0 x1')
    e = 1.00003 * x0 * x1 + 0.004 * x1 + 0.49998 * x0 - 1e-5
    assert tidy_expression(e, 1e-2, 1e-3) == x0 * x1 + x0 / 2
    assert tidy_expression(e, 0, None) == sp.expand(e)


def test_constant_operands_and_max_min_in_expressions():
    "Every op kind, with constants on either side, is written as sympy would compute it"
    lay = EvolvingLayer(2, 1, max_ops=6, ops=('add', 'sub', 'mul', 'max', 'min'), seed=0).double()
    rows = [(2, 0, CONST), (1, CONST, 1), (3, 0, 1), (4, 1, CONST), (0, 2, 4)]   # mul, sub(c - x1), max, min, add(h0 + h2)
    xb = torch.randn(256, 2, dtype=torch.float64)
    with torch.no_grad():
        for s, (k, a, b) in enumerate(rows):
            lay._birth(s, k, a, b, lay._values(xb))
            lay.invalidate()
    with torch.no_grad():
        lay.const.uniform_(-2, 2); lay.out.weight.normal_()
    lay.invalidate()
    x = torch.randn(64, 2, dtype=torch.float64)
    with torch.no_grad(): y = lay(x)[:, 0].numpy()
    assert np.abs(_numpy(lay.expressions(threshold=0)[0], 2, x) - y).max() <= 1e-10 * max(1., np.abs(y).max())
