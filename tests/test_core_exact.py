"""growlearn.core guarantees that hold bit for bit by construction (run again by CI with MKL_CBWR=COMPATIBLE)."""
import pytest, torch, torch.nn as nn, torch.nn.functional as F
from fastai.basics import Learner, DataLoaders, Adam, set_seed
from torch.utils.data import TensorDataset
from growlearn.core import quiet, rebuild_optimizer, snapshot, snapshot_diff, max_abs_diff, opt_state

pytestmark = pytest.mark.exact

def _learner(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(96, 4, generator=g); y = x @ torch.randn(4, 1, generator=g)
    dls = DataLoaders.from_dsets(TensorDataset(x[:64], y[:64]), TensorDataset(x[64:], y[64:]), bs=16)
    set_seed(seed)
    return quiet(Learner(dls, nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1)), loss_func=F.mse_loss, opt_func=Adam,
                         splitter=lambda m: [list(m[0].parameters()), list(m[2].parameters())]))

def test_rebuild_keeps_survivors_state_bit_identical():
    learn = _learner(); learn.fit(1, 1e-2)
    before = {id(p): {k: v.clone() for k, v in st.items() if torch.is_tensor(v)} for p, st in opt_state(learn.opt).items()}
    learn.model.append(nn.Linear(1, 1))
    rebuild_optimizer(learn)
    for p in list(learn.model[0].parameters()) + list(learn.model[2].parameters()):
        for k, v in before[id(p)].items(): assert torch.equal(opt_state(learn.opt)[p][k], v), k

def test_refused_rebuild_leaves_everything():
    learn = _learner(); learn.fit(1, 1e-2)
    s0 = snapshot(learn.model, learn.opt)
    opt0, learn.opt_func = learn.opt_func, learn.opt      # an already built optimizer is refused
    with pytest.raises(TypeError, match='function that builds'): rebuild_optimizer(learn)
    learn.opt_func = opt0
    assert snapshot_diff(s0, snapshot(learn.model, learn.opt)) == []

def test_deepcopy_is_the_same_function():
    import copy
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))
    x = torch.randn(5, 1, 9, 9); net(x)
    assert max_abs_diff(net, copy.deepcopy(net), x) == 0.
