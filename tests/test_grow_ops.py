"""growlearn.grow operations (nbs/10_grow.ipynb): dtype kept, relative tolerance, hooks kept, unchecked growth warns,
clear messages, every kind of log entry replayable from JSON, and the pure Net2Net tensor functions on their own."""
import json, warnings
import numpy as np, pytest, torch, torch.nn as nn
from growlearn.core import max_abs_diff, dtype_rtol, snapshot, snapshot_diff
from growlearn.models import seed_cnn, mlp
from growlearn.grow import (deepen, widen, replay, grow, net2wider, wider_map, wider_cols, dirac_kernel, outputs_in,
                            realistic_norms, GROW_OPS, GrowthStep)

def test_new_tensors_follow_dtype():
    m = seed_cnn(size=12).double(); xb = torch.rand(4, 1, 12, 12, dtype=torch.float64)
    deepen(m, 'relu1', act=nn.ReLU, bn=True, xb=xb); deepen(m, 'd1', how='residual', xb=xb); widen(m, 'relu1_1.0', 'd1', 40, xb=xb)
    assert {p.dtype for p in m.parameters()} == {torch.float64}
    assert {b.dtype for n, b in m.named_buffers() if 'running' in n} == {torch.float64}

class MixedHead(nn.Module):
    "A float32 body and a float64 head that casts its input"
    def __init__(self):
        super().__init__()
        self.body, self.head = nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Linear(8, 3).double()
    def forward(self, x): return self.head(self.body(x).double())

def test_new_layer_takes_the_dtype_of_what_reaches_it():
    torch.manual_seed(0)
    m, xb = MixedHead(), torch.randn(5, 4)
    e = deepen(m, 'head', xb=xb).entry
    assert m.head[1].weight.dtype == torch.float64 and e['max_abs_diff'] == 0
    assert e['rtol'] == dtype_rtol(torch.float64)

def test_noise_is_reported_and_zero_noise_is_exact():
    torch.manual_seed(0)
    m, xb = mlp([6, 16, 3]), torch.randn(32, 6)
    e0 = widen(m, 'fc0', 'fc1', 24, xb=xb).entry
    assert e0['checked'] and e0['max_rel_diff'] <= e0['rtol']
    e1 = widen(m, 'fc0', 'fc1', 32, xb=xb, noise=0.1).entry
    assert not e1['checked'] and e1['max_rel_diff'] > e1['rtol']

def test_tolerance_is_relative_to_the_outputs():
    "Large logits (trained-scale BatchNorm statistics): rounding-level Δ above 1e-5 absolute, within 64 ulps relative"
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(16, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    realistic_norms(m)
    with torch.no_grad(): m[1].running_var.fill_(1e-4); m[5].weight.mul_(30)
    xb = torch.randn(8, 16)
    e = widen(m, '3', '5', 200, xb=xb).entry
    assert e['max_abs_diff'] > 1e-5 and e['max_rel_diff'] <= e['rtol'], e   # an absolute 1e-5 would have refused this
    assert float(outputs_in(m, xb)[0].abs().max()) > 50

def test_widen_keeps_user_hooks():
    torch.manual_seed(0)
    m, xb, calls = mlp([6, 16, 3]), torch.randn(4, 6), []
    h = m.fc1.register_forward_hook(lambda mod, i, o: calls.append(i[0].shape[1]))
    m.fc0.register_forward_pre_hook(lambda mod, i: calls.append('pre'))
    widen(m, 'fc0', 'fc1', 24, xb=xb)
    calls.clear(); m(xb)
    assert calls == ['pre', 24]
    h.remove(); calls.clear(); m(xb)
    assert calls == ['pre']                    # the handle taken before widening still removes the hook

class Indexed(nn.Module):
    "A ModuleList indexed by position in forward"
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)])
    def forward(self, x): return self.layers[2](self.layers[1](self.layers[0](x)))

def test_unchecked_growth_warns_and_modulelists_keep_positions():
    torch.manual_seed(0)
    m, xb = Indexed(), torch.randn(5, 4)
    y0 = m(xb).detach()
    with pytest.warns(UserWarning, match='was not checked'): deepen(m, 'layers.0')
    assert torch.equal(m(xb), y0) and len(m.layers) == 3       # the item became Sequential(old, new): indices unchanged
    e = deepen(m, 'layers.1', act=nn.ReLU, xb=xb).entry
    assert e['name'] == 'layers.1.1' and e['checked']

def test_messages_name_the_fix():
    m, xb = seed_cnn(size=12), torch.rand(2, 1, 12, 12)
    with pytest.raises(ValueError, match='use 1'): deepen(m, 'relu1', how='identity', kernel_size=0, xb=xb)
    with pytest.raises(ValueError, match=r'GELU\(0.001\) = 0.0005'): deepen(m, 'relu2', how='identity', act=nn.GELU, xb=xb)
    e = widen(m, 'd1', 'd2', np.int64(30), seed=torch.tensor(3), xb=xb).entry      # numpy / tensor integers are integers
    assert e['new_width'] == 30 and e['seed'] == 3
    ln = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2))
    with pytest.raises(ValueError, match=r"found '1' \(LayerNorm\) \(it normalises across units\)"): widen(ln, '0', '2', 12)
    with pytest.raises(TypeError, match=r"its arguments are \['after', 'how'"): GrowthStep('deepen', at=1, afer='x')
    with pytest.raises(ValueError, match=r"must be one of \['deepen', 'widen'"): GrowthStep('deeper', at=1)

def test_replay_of_every_kind_loads_the_state_dict():
    torch.manual_seed(0)
    m, xb = seed_cnn(size=12), torch.rand(4, 1, 12, 12)
    ops = [deepen(m, 'relu1', act=nn.ReLU, bn=True, xb=xb), deepen(m, 'conv1', how='residual', xb=xb),
           deepen(m, 'd1', act=nn.ReLU, xb=xb), widen(m, 'd1_1.branch.0', 'd1_1.branch.2', 30, split='zero', xb=xb),
           widen(m, 'relu1_1.0', 'd1', 40, xb=xb)]
    log = json.loads(json.dumps([r.entry for r in ops]))
    assert log[2]['how'] == 'residual'   # d1's output is signed: switched from identity+ReLU
    fresh = replay(seed_cnn(size=12), log)
    fresh.load_state_dict(m.state_dict())
    assert max_abs_diff(m, fresh, xb) == 0.

def test_every_registered_op_replays_and_labels():
    for name, op in GROW_OPS.items():
        assert callable(op.replay) and callable(op.label) and callable(op.exact), name

def test_undo_restores_everything():
    torch.manual_seed(0)
    m, xb = seed_cnn(size=12), torch.rand(4, 1, 12, 12)
    s0 = snapshot(m)
    done = [deepen(m, 'relu1', act=nn.ReLU, xb=xb), widen(m, 'conv1', 'relu1_1.0', 40, xb=xb)]
    for r in reversed(done): r.undo()
    assert snapshot_diff(s0, snapshot(m)) == []

def test_net2wider_tensor_functions():
    torch.manual_seed(0)
    g = wider_map(4, 7, seed=1)
    assert g[:4].tolist() == [0, 1, 2, 3] and len(g) == 7 and int(g.max()) < 4
    assert torch.equal(g, wider_map(4, 7, seed=1))
    w1, b1, w2 = torch.randn(4, 5), torch.randn(4), torch.randn(3, 4)
    w1n, b1n, w2n, g = net2wider(w1, b1, w2, 7, seed=1)
    counts = torch.bincount(g, minlength=4)
    assert torch.equal(w1n, w1[g]) and torch.equal(b1n, b1[g])
    assert torch.allclose(w2n.sum(1), w2.sum(1)) and torch.equal(w2n[:, :4] * counts, w2)   # columns divided by the copy count
    assert torch.equal(wider_cols(w2, g, 'zero')[:, :4], w2)
    k = dirac_kernel(6, 3, groups=2)
    assert k.shape == (6, 3, 3, 3) and k.sum() == 6 and k[:, :, 1, 1].sum() == 6
