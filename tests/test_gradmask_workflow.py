"GradMaskCallback in a fastai user's session: each problem found there, reproduced on the tiny learners of `growlearn.workflow`."
import math, os, tempfile, warnings
from pathlib import Path
import pytest, torch, torch.nn as nn
from fastai.learner import load_learner
from growlearn.core import snapshot, snapshot_diff
from growlearn.data import digits_tensors
from growlearn.workflow import tiny_vision_learner, tiny_tabular_learner
from growlearn.gradmask import GradMask, GradMaskCallback, kernel_tensors

@pytest.fixture(autouse=True, scope='module')
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

class CountingDS(torch.utils.data.Dataset):
    "Images that count how often they are read (to prove that nothing was computed)"
    def __init__(self, x): self.x, self.reads = x, 0
    def __len__(self): return len(self.x)
    def __getitem__(self, i): self.reads += 1; return (self.x[i],)

def dl_pre(n=64, start=100):
    x = digits_tensors(32)[0][start:start + n]
    return torch.utils.data.DataLoader(CountingDS(x), batch_size=32)

def quiet_fit(learn, n=1, lr=1e-3, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); learn.fit(n, lr, **kw)

def last_group_layers(learn):
    ids = {id(p) for p in learn.splitter(learn.model)[-1]}
    return {n for n, m in learn.model.named_modules() if any(id(p) in ids for p in m.parameters(recurse=False))}

def test_fastai_head_is_never_masked():
    "vision_learner's head (the splitter's last group) trains whole: no mask on its Linear layers, its BatchNorm learns statistics"
    learn = tiny_vision_learner(cbs=GradMaskCallback(dl_pre=dl_pre()))
    w0 = learn.model[1][4].weight.detach().clone()
    quiet_fit(learn)
    gm = learn.gradmask
    assert gm.masks and not (set(gm.masks) & last_group_layers(learn)), sorted(set(gm.masks) & last_group_layers(learn))
    assert gm._pull and not any(n.startswith('1.') for n, *_ in gm._frozen + gm._pull)
    moved = (learn.model[1][4].weight.detach() - w0).abs().amax(1)
    assert bool((moved > 0).all()), f"{int((moved == 0).sum())} rows of the head's Linear(1024, 512) did not train"
    assert not torch.equal(learn.model[1][6].running_var, torch.ones(512)), "the head's BatchNorm1d kept running_var = 1"

def test_user_named_head_is_never_masked():
    learn = tiny_vision_learner(cbs=GradMaskCallback(dl_pre=dl_pre(), head=['0.7']))
    quiet_fit(learn)
    assert not any(l.startswith('0.7.') for l in learn.gradmask.masks)

@pytest.mark.exact
def test_load_of_another_checkpoint_is_not_overwritten():
    "After `learn.load` of a different checkpoint, training must start from it: no frozen row from an older snapshot written back"
    learn = tiny_vision_learner(cbs=GradMaskCallback(dl_pre=dl_pre(), mode='freeze'))
    with tempfile.TemporaryDirectory() as d:
        learn.path = Path(d)
        quiet_fit(learn)
        with torch.no_grad():
            for p in learn.model.parameters(): p.add_(0.01)
        learn.save('other'); other = {k: v.clone() for k, v in learn.model.state_dict().items()}
        with torch.no_grad():
            for p in learn.model.parameters(): p.sub_(0.02)          # something else in the model now
        learn.load('other')
        quiet_fit(learn)
    gm, sd = learn.gradmask, learn.model.state_dict()
    for name, t, idx, *_ in gm._frozen:
        assert torch.equal(sd[name][idx], other[name][idx]), f"frozen rows of {name} are not the loaded checkpoint's"

def test_layer_replaced_invalidates_masks():
    "A judged layer replaced between fits: a warning, the masks are recomputed for the new model, nothing is written into it"
    learn = tiny_vision_learner(cbs=GradMaskCallback(dl_pre=dl_pre(), mode='freeze'))
    quiet_fit(learn)
    old = learn.model[0][4][0].conv1
    new = nn.Conv2d(old.in_channels, old.out_channels, 3, padding=1, bias=False)
    learn.model[0][4][0].conv1 = new
    learn.create_opt()
    with pytest.warns(UserWarning, match='structure'):
        learn.fit(1, 1e-3)
    assert any(t is new.weight for _, t, *_ in learn.gradmask._frozen)

def test_layer_widened_mid_fit_invalidates_masks():
    "A callback that replaces a judged layer mid-fit (as a growth step does): warn, stop masking, never write stale rows"
    from fastai.callback.core import Callback
    from growlearn.core import rebuild_optimizer
    class Replace(Callback):
        order = 65
        def after_epoch(self):
            if self.epoch == 0:
                blk = self.learn.model[0][4][0]
                blk.conv1 = nn.Conv2d(64, 64, 3, padding=1, bias=False); rebuild_optimizer(self.learn)
    learn = tiny_vision_learner(cbs=[GradMaskCallback(dl_pre=dl_pre()), Replace()])
    with pytest.warns(UserWarning, match='structure'):
        learn.fit(2, 1e-3)
    assert learn.gradmask.masks is None

def test_nothing_recorded_in_lr_find_validate_get_preds():
    learn = tiny_vision_learner(cbs=GradMaskCallback(dl_pre=dl_pre(), refit=True))
    with learn.no_bar(): learn.lr_find(num_it=5, show_plot=False)
    assert not hasattr(learn, 'gradmask'), "lr_find fitted masks"
    quiet_fit(learn, 2)
    gm, masks, hist = learn.gradmask, learn.gradmask.masks, list(learn.gradmask.history)
    test_hist = len(hist)
    learn.validate(); learn.get_preds()
    with learn.no_bar(): learn.lr_find(num_it=5, show_plot=False)
    assert learn.gradmask is gm and gm.masks is masks, "validate/get_preds/lr_find recomputed the masks"
    assert gm.history == hist and test_hist == 2, gm.history

def test_export_carries_no_data_and_predicts():
    big = dl_pre(n=1000, start=0)
    learn = tiny_vision_learner(cbs=GradMaskCallback(dl_pre=big))
    quiet_fit(learn)
    with tempfile.TemporaryDirectory() as d:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore'); learn.export(Path(d)/'with.pkl')
            size = os.path.getsize(Path(d)/'with.pkl')
            l2 = load_learner(Path(d)/'with.pkl')
            preds, _ = l2.get_preds(dl=learn.dls.valid)
        assert len(preds) == len(learn.dls.valid_ds)
        learn.remove_cb(learn.grad_mask); del learn.gradmask
        with warnings.catch_warnings():
            warnings.simplefilter('ignore'); learn.export(Path(d)/'without.pkl')
        base = os.path.getsize(Path(d)/'without.pkl')
    assert size <= 1.05 * base, (size, base)

@pytest.mark.parametrize('kw, msg', [(dict(quantile=1.5), 'quantile'), (dict(quantile=float('nan')), 'quantile'),
                                     (dict(scope='globl'), "did you mean 'global'"), (dict(method='kl_lg'), "did you mean 'kl_log'"),
                                     (dict(threshold=float('inf')), 'threshold'), (dict(granularity='kernel'), 'granularity'),
                                     (dict(bins=1, method='ks'), 'bins'), (dict(subsample=0), 'subsample'),
                                     (dict(mode='pul'), "did you mean 'pull'"), (dict(pull=0.), 'pull'), (dict(pull=float('nan')), 'pull')])
def test_bad_arguments_refused_before_any_work(kw, msg):
    dl = dl_pre()
    with pytest.raises(ValueError, match=msg): GradMaskCallback(dl_pre=dl, **kw)
    assert dl.dataset.reads == 0

def test_unknown_argument_names_the_nearest():
    with pytest.raises(TypeError, match="did you mean 'quantile'"): GradMaskCallback(quantil=0.3)

def test_bad_layer_names_refused_before_the_statistics_pass():
    dl = dl_pre()
    learn = tiny_vision_learner(cbs=GradMaskCallback(dl_pre=dl, layers=['0.4.0.cnv1']))
    before = snapshot(learn.model)
    with pytest.raises(KeyError, match='did you mean'): quiet_fit(learn)
    assert dl.dataset.reads == 0
    assert [d for d in snapshot_diff(before, snapshot(learn.model)) if not d.startswith('training flag')] == []

@pytest.mark.exact
def test_statistics_pass_skips_nonfinite_batches():
    "A NaN image in the new data: its batch is skipped with a warning; masks and distances stay finite"
    x = digits_tensors(32)[0][:64].clone()
    x[40, 0, 3, 3] = float('nan')
    dl_new = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=16)
    net = tiny_vision_learner().model
    with pytest.warns(UserWarning, match='skipped 1 of 4 batches'):
        gm = GradMask(net, dl_pre(), dl_new).fit()
    assert all(bool(torch.isfinite(d).all()) for d in gm.dist.values())
    ref = GradMask(net, dl_pre(), torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.cat([x[:32], x[48:]])), batch_size=16)).fit()
    for l in gm.masks: assert torch.equal(gm.masks[l], ref.masks[l]), l
