"""The batched-by-level `EvolvingLayer` against a naive per-op reference (the seed's EvOp/EvLayer, bugs fixed).

The reference evaluates one op per Python call and appends its output to `x` with `torch.cat`, exactly like
the seed's `EvLayer.forward`; the fixes: index 0 is an index (`isinstance(p, int)`, not `if p:`), constants are
real tensors, and normalisation is the layer's fixed affine map `(op(a, b) - mu) / sd` instead of `F.normalize`
over the batch.
"""
import random
import torch, torch.nn as nn
from growlearn.evolve import EvolvingLayer, OPS, CONST


class NaiveOp(nn.Module):
    "One op of the seed: `fn(p1, p2)` where `p` is an int column of the growing `x` or a trainable scalar"
    def __init__(self, fn, p1, p2, mu, sd):
        super().__init__()
        self.fn, self.mu, self.sd = fn, mu, sd
        self.p1 = p1 if isinstance(p1, int) else nn.Parameter(torch.as_tensor(p1).clone())
        self.p2 = p2 if isinstance(p2, int) else nn.Parameter(torch.as_tensor(p2).clone())

    def forward(self, x):
        p1 = x[..., self.p1] if isinstance(self.p1, int) else self.p1 * torch.ones_like(x[..., 0])
        p2 = x[..., self.p2] if isinstance(self.p2, int) else self.p2 * torch.ones_like(x[..., 0])
        return (self.fn(p1, p2) - self.mu) / self.sd


class NaiveEvLayer(nn.Module):
    "The seed's `EvLayer`: ops evaluated one by one, each output appended to `x`, then a `Linear` over all columns"
    def __init__(self, layer: EvolvingLayer):
        super().__init__()
        n_in = layer.in_features
        lv = layer.slot_levels()
        self.order = sorted(lv, key=lambda s: (lv[s], s))            # a topological order of the active slots
        col = {s: n_in + i for i, s in enumerate(self.order)}
        ops = []
        for s in self.order:
            ps = []
            for j, v in enumerate(layer.src[s].tolist()):
                ps.append(layer.const[s, j].detach() if v == CONST else (v if v < n_in else col[v - n_in]))
            ops.append(NaiveOp(OPS[layer.ops[int(layer.kind[s])]][0], *ps, layer.mu[s].item(), layer.sd[s].item()))
        self.ops = nn.ModuleList(ops)
        self.cols = list(range(n_in)) + [n_in + s for s in self.order]
        self.out = nn.Linear(len(self.cols), layer.out_features).to(layer.out.weight.dtype)
        with torch.no_grad():
            self.out.weight.copy_(layer.out.weight[:, self.cols]); self.out.bias.copy_(layer.out.bias)

    def forward(self, x):
        for op in self.ops: x = torch.cat([x, op(x)[..., None]], dim=-1)
        return self.out(x)


def random_layer(i):
    "A random float64 graph: several grow/prune rounds so that slot order is not topological"
    rng = random.Random(i)
    n_in, n_out, S = rng.randint(1, 5), rng.randint(1, 3), rng.randint(4, 24)
    ops = tuple(rng.sample(list(OPS), rng.randint(1, len(OPS))))
    lay = EvolvingLayer(n_in, n_out, max_ops=S, ops=ops, seed=i).double()
    gen = torch.Generator().manual_seed(i)
    xb = torch.randn(64, n_in, generator=gen, dtype=torch.float64)
    for _ in range(rng.randint(1, 4)):
        if lay.n_free(): lay.grow(rng.randint(1, lay.n_free()), xb)
        with torch.no_grad(): lay.out.weight.normal_(generator=gen)
        k = len(lay.prunable(0))
        if k and rng.random() < 0.7: lay.prune(rng.randint(1, k), xb, min_age=0)
    if lay.n_free(): lay.grow(rng.randint(1, lay.n_free()), xb)
    with torch.no_grad():
        lay.out.weight.normal_(generator=gen)
        lay.out.weight[:, n_in:] *= lay.active.double()         # inactive slots keep zero columns
        lay.const.uniform_(0.5, 1.5, generator=gen)
    return lay, torch.randn(32, n_in, generator=gen, dtype=torch.float64)


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
