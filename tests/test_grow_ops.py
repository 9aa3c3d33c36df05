"""growlearn.grow operations keep the model's dtype, and the log records what `noise` did (nbs/10_grow.ipynb)."""
import torch, torch.nn as nn
from growlearn.core import max_abs_diff
from growlearn.models import seed_cnn, mlp
from growlearn.grow import deepen, widen, replay

def test_new_tensors_follow_dtype():
    m = seed_cnn(size=12).double(); xb = torch.rand(4, 1, 12, 12, dtype=torch.float64)
    deepen(m, 'relu1', act=nn.ReLU, bn=True, xb=xb); deepen(m, 'd1', how='residual'); widen(m, 'relu1_1.0', 'd1', 40, xb=xb)
    assert {p.dtype for p in m.parameters()} == {torch.float64}
    assert {b.dtype for n, b in m.named_buffers() if 'running' in n} == {torch.float64}

def test_noise_is_reported_and_zero_noise_is_exact():
    torch.manual_seed(0)
    m, xb = mlp([6, 16, 3]), torch.randn(32, 6)
    e0 = widen(m, 'fc0', 'fc1', 24, xb=xb)
    assert e0['noise_max'] == 0 and e0['max_abs_diff'] <= 1e-6
    e1 = widen(m, 'fc0', 'fc1', 32, xb=xb, noise=0.1)
    assert e1['noise_max'] > 0 and e1['max_abs_diff'] > 1e-6

def test_replay_of_every_kind_loads_the_state_dict():
    torch.manual_seed(0)
    m, xb = seed_cnn(size=12), torch.rand(4, 1, 12, 12)
    ops = [deepen(m, 'relu1', act=nn.ReLU, bn=True, xb=xb), deepen(m, 'conv1', how='residual'),
           deepen(m, 'd1', act=nn.ReLU, xb=xb), widen(m, 'd1_1.branch.0', 'd1_1.branch.2', 30, split='zero'),
           widen(m, 'relu1_1.0', 'd1', 40)]
    log = [{k: v for k, v in e.items() if not k.startswith('_')} for e in ops]
    assert log[2]['how'] == 'residual'   # d1's output is signed: switched from identity+ReLU
    fresh = replay(seed_cnn(size=12), log)
    fresh.load_state_dict(m.state_dict())
    assert max_abs_diff(m, fresh, xb) == 0.
