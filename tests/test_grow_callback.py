"""GrowCallback's fiddly guarantees (nbs/10_grow.ipynb): migrated moments, new-only training, lr multiplier, wd, and
failures — a refused check, an exception inside the checking forward pass, an optimizer that can't be rebuilt — that leave
model, hooks and optimizer bit-identical."""
import pytest, torch, torch.nn as nn
from fastai.basics import Learner, Callback, set_seed
import fastai.callback.schedule
from growlearn.core import quiet, module_names, rebuild_optimizer, snapshot, snapshot_diff
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
    res = widen(learn.model, 'd1', 'd2', 30, xb=dls.valid.one_batch()[0])
    rebuild_optimizer(learn, migrate=res.migrate)
    g = torch.tensor(list(range(20)) + res.entry['copies'])
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

class SnapBefore(Callback):
    "`snapshot(model, opt)` at the end of each epoch, before GrowCallback (order 65) acts"
    order = 60
    def after_epoch(self): self.snap, self.opt_ = snapshot(self.learn.model, self.learn.opt), self.learn.opt

class Hooked(Callback):
    "A user's forward pre-hook on d2 that refuses inputs wider than 20 features (raises inside the checking forward pass)"
    def before_fit(self):
        if not hasattr(self, 'h'): self.h = self.learn.model.d2.register_forward_pre_hook(lambda m, i: None if i[0].shape[1] <= 20 else 1/0)

@pytest.mark.parametrize('case', ['check fails', 'forward raises', 'optimizer rebuild fails'])
def test_failed_growth_leaves_model_hooks_and_optimizer(dls, case, monkeypatch):
    learn = _learner(dls); learn.fit(1, 1e-3)
    snap = SnapBefore()
    grow = {'check fails': GrowCallback([_step()], rtol=-1., dry_run=False),
            'forward raises': GrowCallback([GrowthStep('widen', at=1, layer='d1', next_layer='d2', new_width=30)], dry_run=False),
            'optimizer rebuild fails': GrowCallback([_step()], dry_run=False)}[case]
    cbs = [grow, snap] + ([Hooked()] if case == 'forward raises' else [])
    if case == 'optimizer rebuild fails':
        import growlearn.grow as G
        def boom(*a, **k): raise RuntimeError('rebuild failed')
        monkeypatch.setattr(G, 'rebuild_optimizer', boom)
    with pytest.raises(Exception, match={'check fails': 'undone', 'forward raises': 'division by zero', 'optimizer rebuild fails': 'rebuild failed'}[case]):
        learn.fit(1, 1e-3, cbs=cbs)
    assert learn.opt is snap.opt_
    assert snapshot_diff(snap.snap, snapshot(learn.model, learn.opt)) == []
    assert learn.growth_log == []

def test_plan_that_cannot_work_fails_before_training(dls):
    learn = _learner(dls); learn.fit(1, 1e-3)
    before = snapshot(learn.model, learn.opt)
    with pytest.raises(ValueError, match=r"growth step 1 of the plan.*can't be applied.*no module 'relu9'"):
        learn.fit(1, 1e-3, cbs=GrowCallback([_step(), GrowthStep('deepen', at=1, after='relu9')]))
    assert snapshot_diff(before, snapshot(learn.model, learn.opt)) == [] and learn.recorder.losses == []   # not one step trained

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
    assert all(e['checked'] and e['max_rel_diff'] <= e['rtol'] for e in learn.growth_log)

class OutputsAt(Callback):
    "The model's outputs on a fixed batch at the end of every epoch (after every other callback)"
    order = 100
    def __init__(self, xb): self.xb, self.outs = xb, {}
    def after_epoch(self):
        if not self.training:
            m = self.learn.model; was = m.training; m.eval()
            with torch.no_grad(): self.outs[self.epoch] = m(self.xb).clone()
            m.train(was)

class FirstOnly:
    "A tracker comparison that finds only the first epoch better: SaveModelCallback keeps epoch 0"
    def __init__(self): self.n = 0
    def __call__(self, a, b): self.n += 1; return self.n == 1

def test_best_epoch_from_before_widening_and_deepening_loads_into_the_grown_model(dls, tmp_path):
    "SaveModelCallback reloads a pre-growth best epoch: the growth is replayed on the checkpoint (GrowthHistory)"
    from fastai.callback.tracker import SaveModelCallback
    from growlearn.core import dtype_rtol
    set_seed(0)
    learn = _learner(dls); learn.path = tmp_path
    xb = dls.valid.one_batch()[0][:8]
    rec = OutputsAt(xb)
    plan = [GrowthStep('widen', at=1, layer='d1', next_layer='d2', new_width=30), _step()]
    learn.fit(3, 1e-3, cbs=[GrowCallback(plan), rec, SaveModelCallback(monitor='valid_loss', comp=FirstOnly())])
    assert learn.model.d1.out_features == 30 and len(learn.growth_log) == 2
    now = learn.model.eval()(xb)
    d, s = float((now - rec.outs[0]).abs().max()), float(rec.outs[0].abs().max())
    assert d <= dtype_rtol() * s, (d, s)

def test_checkpoint_from_before_a_calibrated_batchnorm_is_refused_with_the_fix(dls, tmp_path):
    set_seed(0)
    learn = _learner(dls); learn.path = tmp_path
    learn.save('before')
    learn.fit(1, 1e-3, cbs=GrowCallback([GrowthStep('deepen', at=1, after='relu1', how='identity', bn=True)]))
    with pytest.raises(ValueError, match=r"calibrated a BatchNorm on data.*replay\(model, growth_log\[:0\]\)"):
        learn.load('before', with_opt=False)
