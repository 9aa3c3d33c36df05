"""The batched-by-level `EvolvingLayer` against a naive per-op reference (the seed's EvOp/EvLayer, bugs fixed).

The reference evaluates one op per Python call and appends its output to `x` with `torch.cat`, exactly like
the seed's `EvLayer.forward`; the fixes: index 0 is an index (`isinstance(p, int)`, not `if p:`), constants are
real tensors, and normalisation is the layer's fixed affine map `(op(a, b) - mu) / sd` instead of `F.normalize`
over the batch.
"""
import pytest, torch, torch.nn as nn
from growlearn.evolve import EvolvingLayer


# the reference lives once, in the benchmark module (`nbs/experiments/evolve_bench.ipynb`), where it is documented
from growlearn.experiments.evolve_bench import NaiveEvLayer
from growlearn.experiments.evolve_bench import random_graph as random_layer   # float64 graphs after grow/prune rounds


def grads_vs_reference(lay, x):
    "Max |Δ| between layer and reference in outputs and in gradients wrt x, weights, bias and constants"
    ref = NaiveEvLayer(lay)
    xa, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yr = lay(xa), ref(xr)
    gy = torch.randn_like(ya)
    lay.zero_grad(); (ya * gy).sum().backward(); (yr * gy).sum().backward()
    d = {'out': (ya - yr).abs().max(), 'x': (xa.grad - xr.grad).abs().max(),
         'bias': (lay.out.bias.grad - ref.out.bias.grad).abs().max(),
         'weight': (lay.out.weight.grad[:, ref.cols] - ref.out.weight.grad).abs().max()}
    # columns of inactive slots get exactly zero gradient
    inactive = [lay.in_features + s for s in range(lay.max_ops) if not lay.active[s]]
    d['inactive'] = lay.out.weight.grad[:, inactive].abs().max() if inactive else torch.zeros(())
    cg = lay.const.grad if lay.const.grad is not None else torch.zeros_like(lay.const)   # None: no constant is read
    dc = [torch.zeros((), dtype=x.dtype)]
    for op, s in zip(ref.ops, ref.order):
        for j, p in enumerate((op.p1, op.p2)):
            g = cg[s, j]
            dc.append((g - p.grad).abs() if isinstance(p, nn.Parameter) else g.abs())
    d['const'] = torch.stack(dc).max()
    return {k: float(v.detach()) for k, v in d.items()}, ref


def test_reference_is_the_seed_loop():
    "The reference really is per-op: one op module per active slot, evaluated in a topological order"
    lay, x = random_layer(3)
    ref = NaiveEvLayer(lay)
    assert len(ref.ops) == int(lay.active.sum()) > 0
    assert sorted(ref.order) == [s for s in range(lay.max_ops) if lay.active[s]]


@pytest.mark.exact
def test_batched_equals_naive_on_100_random_graphs():
    worst, n_ops, depths = {}, [], []
    for i in range(100):
        lay, x = random_layer(i)
        d, _ = grads_vs_reference(lay, x)
        for k, v in d.items(): worst[k] = max(worst.get(k, 0.), v)
        n_ops.append(int(lay.active.sum())); depths.append(max(lay.slot_levels().values(), default=0))
    assert max(worst.values()) <= 1e-10, worst
    assert sum(n_ops) > 500 and max(depths) >= 4, (sum(n_ops), max(depths))   # the graphs are not trivial


def test_reference_detects_a_wrong_layer():
    "A layer whose op kind was changed behind its back differs from the reference built before the change"
    lay, x = random_layer(5)
    ref = NaiveEvLayer(lay)
    s = next(s for s in range(lay.max_ops) if lay.active[s])
    lay.kind[s] = (int(lay.kind[s]) + 1) % len(lay.ops) if len(lay.ops) > 1 else lay.kind[s]
    lay.src[s, 0] = 0
    lay.invalidate()
    with torch.no_grad(): assert float((lay(x) - ref(x)).abs().max()) > 1e-6
