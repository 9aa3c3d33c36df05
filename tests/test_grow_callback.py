"""GrowCallback's fiddly guarantees (nbs/10_grow.ipynb): migrated moments, new-only training, lr multiplier, wd, atomic failure."""
import pytest, torch, torch.nn as nn
from fastai.basics import Learner, Callback, set_seed
import fastai.callback.schedule
from growlearn.core import quiet, module_names, rebuild_optimizer
from growlearn.data import digits_dls
from growlearn.models import seed_cnn
from growlearn.grow import GrowCallback, GrowthStep, widen, get_module

@pytest.fixture(scope='module')
def dls(): return digits_dls(size=12, n_per_class=12, bs=32)

def _learner(dls, **kw): return quiet(Learner(dls, seed_cnn(size=12), **kw))

def _step(**kw): return GrowthStep('deepen', at=1, after='relu2', act=nn.ReLU, **kw)

class Snap(Callback):
    "Keep a copy of every parameter at the end of epoch 0 (after GrowCallback has grown)"
    order = 70
    def __init__(self): self.saved = {}
    def after_epoch(self):
        if self.epoch == 0: self.saved = {n: p.detach().clone() for n, p in self.model.named_parameters()}

def test_widen_migrates_moments(dls):
    set_seed(0)
    learn = _learner(dls); learn.fit(1, 1e-3)
    old = {k: v.clone() for k, v in learn.opt.state[learn.model.d1.weight].items() if isinstance(v, torch.Tensor)}
    entry = widen(learn.model, 'd1', 'd2', 30)
    rebuild_optimizer(learn, migrate=entry['_migrate'])
    g = torch.tensor(list(range(20)) + entry['copies'])
    new = learn.opt.state[learn.model.d1.weight]
    assert torch.equal(new['grad_avg'], old['grad_avg'][g]) and torch.equal(new['sqr_avg'], old['sqr_avg'][g])
    assert new['grad_avg'].abs().max() > 0

def test_new_only_epochs_freezes_old_tensors(dls):
    set_seed(0)
    learn, snap = _learner(dls), Snap()
    learn.fit(2, 1e-3, cbs=[GrowCallback([_step()], new_only_epochs=1), snap])
    for n, p in learn.model.named_parameters():
        assert torch.equal(p, snap.saved[n]) != n.startswith('relu2_1'), n
    assert all(p.requires_grad for p in learn.model.parameters())   # unfrozen afterwards

def test_new_lr_mult_zero_keeps_new_tensors(dls):
    set_seed(0)
    learn, snap = _learner(dls), Snap()
    learn.fit(2, 1e-3, cbs=[GrowCallback([_step()], new_lr_mult=0.), snap])
    for n, p in learn.model.named_parameters():
        assert torch.equal(p, snap.saved[n]) == n.startswith('relu2_1'), n

@pytest.mark.parametrize('wd_new', [False, True])
def test_new_weights_not_decayed_by_default(dls, wd_new):
    learn = _learner(dls, wd=0.1)
    learn.fit(1, 1e-3, cbs=GrowCallback([_step()], wd_new=wd_new))
    assert learn.opt.state[get_module(learn.model, 'relu2_1.0').weight].get('do_wd', True) == wd_new
    assert learn.opt.state[learn.model.d1.weight].get('do_wd', True)

class OptSnap(Callback):
    "Copy the optimizer state at the end of each epoch, before GrowCallback (order 65) acts"
    order = 60
    def after_epoch(self):
        self.opt_ = self.learn.opt
        self.state = {id(p): {k: v.clone() for k, v in st.items() if isinstance(v, torch.Tensor)} for p, st in self.learn.opt.state.items()}

def test_failed_check_leaves_model_and_optimizer(dls):
    learn = _learner(dls); learn.fit(1, 1e-3)
    names, snap = module_names(learn.model), OptSnap()
    with pytest.raises(RuntimeError, match='undone'):
        learn.fit(1, 1e-3, cbs=[GrowCallback([_step()], tol=-1.), snap])
    assert learn.opt is snap.opt_ and module_names(learn.model) == names
    for p in learn.model.parameters():
        for k, v in snap.state[id(p)].items(): assert torch.equal(learn.opt.state[p][k], v)

def test_plateau_and_fraction_steps(dls):
    set_seed(0)
    learn = _learner(dls)
    plan = [GrowthStep('widen', at=0.5, layer='conv1', next_layer='d1', new_width=40),
            GrowthStep('deepen', at=None, after='relu2', how='residual')]
    learn.fit(3, 1e-3, cbs=GrowCallback(plan, patience=1, min_delta=10.))   # min_delta=10: every epoch is a plateau
    ops = [e['op'] for e in learn.growth_log]
    assert ops == ['widen', 'deepen'], ops
    w, d = learn.growth_log   # widen mid-epoch 1 (50 %), deepen at the end of epoch 1 (first non-improving epoch)
    assert (w['epoch'], d['epoch']) == (1, 1) and w['iter'] < d['iter']
    assert all(e['max_abs_diff'] <= 1e-5 for e in learn.growth_log)
