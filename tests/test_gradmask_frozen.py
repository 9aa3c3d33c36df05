"Plain-PyTorch checks of growlearn.gradmask / growlearn.stats that do not need a notebook (fast: synthetic data)."
import numpy as np, pytest, torch, torch.nn.functional as F
from growlearn.models import small_cnn
from growlearn.stats import collect_stats, collect_pair, channel_distance
from growlearn.gradmask import GradMask, make_masks, random_masks, kernel_tensors

def _dl(x, bs=16): return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=bs)

@pytest.mark.exact
@pytest.mark.parametrize('opt_name', ['sgd', 'adamw', 'adam_l2'])
def test_frozen_kernels_bit_identical(opt_name):
    torch.manual_seed(0)
    net = small_cnn(4)
    x_pre, x_new = torch.rand(48, 1, 16, 16), torch.rand(48, 1, 16, 16)**2
    gm = GradMask(net, _dl(x_pre), _dl(x_new), method='ks', mode='freeze', quantile=0.5).fit()
    before = {k: v.detach().clone() for k, v in list(net.named_parameters()) + list(net.named_buffers())}
    opt = {'sgd': lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1),
           'adamw': lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
           'adam_l2': lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1)}[opt_name](net.parameters())
    net.train()
    y = torch.randint(0, 4, (48,))
    for i in range(6):
        gm.save()
        loss = F.cross_entropy(net(x_new[i*8:(i+1)*8]), y[i*8:(i+1)*8])
        opt.zero_grad(); loss.backward(); gm.apply(); opt.step(); gm.restore(opt)
    after = dict(list(net.named_parameters()) + list(net.named_buffers()))
    moved_frozen, moved_free = 0., 0.
    for l, m in gm.masks.items():
        for n, _ in gm._tensors(l):
            d = (after[n].detach().double() - before[n].double()).abs().reshape(len(m), -1).max(1).values
            moved_frozen = max(moved_frozen, float(d[m].max()))
            moved_free = max(moved_free, float(d[~m].max()))
            for v in opt.state.get(after[n], {}).values():
                if torch.is_tensor(v) and v.shape == after[n].shape: assert float(v[m].abs().max()) == 0.
    assert moved_frozen == 0.
    assert moved_free > 1e-4

def test_stats_match_numpy_and_masks_are_atomic():
    torch.manual_seed(1)
    net = small_cnn(4).eval()
    x = torch.rand(40, 1, 12, 12)
    st = collect_stats(net, _dl(x, 7), layers=['body.0.conv'], subsample=1)
    with torch.no_grad(): a = F.relu(net.body[0].bn(net.body[0].conv(x))).transpose(0, 1).reshape(32, -1).double().numpy()
    np.testing.assert_allclose(st['body.0.conv'].mean.numpy(), a.mean(1), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(st['body.0.conv'].var.numpy(), a.var(1, ddof=1), rtol=1e-5, atol=1e-9)
    gm = GradMask(net, _dl(x), _dl(x))
    with pytest.raises(ValueError, match='output channels'):
        gm.set_masks({'body.0.conv': torch.ones(32, dtype=torch.bool), 'body.1.conv': torch.ones(3, dtype=torch.bool)})
    assert gm.masks is None and gm._frozen == []
    m = make_masks({'a': torch.arange(10.)}, quantile=0.3)
    assert m['a'].tolist() == [True]*3 + [False]*7
    assert int(random_masks(m, 0)['a'].sum()) == 3

def test_soft_masks_scale_each_kernels_update():
    "A soft mask scales each kernel's step: with plain SGD the update is exactly s times the gradient step (0: frozen, 1: free)"
    from growlearn.gradmask import soft_masks
    torch.manual_seed(2)
    net = small_cnn(4)
    x, y = torch.rand(16, 1, 12, 12), torch.randint(0, 4, (16,))
    gm = GradMask(net, _dl(x), _dl(x**2), mode='soft', train_bn=True)
    masks = {l: torch.linspace(0, 1, n).double() for l, n in (('body.0.conv', 32), ('body.1.conv', 64), ('body.2.conv', 128))}
    gm.set_masks(masks)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    net.train()
    w0 = {n: p.detach().clone() for n, p in net.named_parameters()}
    gm.save(); F.cross_entropy(net(x), y).backward(); gm.apply()
    g = {n: p.grad.detach().clone() for n, p in net.named_parameters()}
    opt.step(); gm.restore(opt)
    for l, s in masks.items():
        n = f'{l}.weight'
        w = dict(net.named_parameters())[n].detach()
        expect = w0[n] - 0.5 * g[n] * s.float().reshape(-1, 1, 1, 1)
        np.testing.assert_allclose(w.numpy(), expect.numpy(), rtol=0, atol=4 * torch.finfo(torch.float32).eps * float(w0[n].abs().max() + 0.5 * g[n].abs().max()))
        assert torch.equal(w[0], w0[n][0])                      # scale 0: frozen, bit for bit
    assert abs(gm.frozen_frac - 0.5) < 1e-6
    sm = soft_masks({'a': torch.tensor([3., 1., 2.])})
    assert sm['a'].tolist() == [1., 0., .5]

def test_pull_mode_pulls_each_kernel_toward_its_pretrained_weights():
    "mode='pull': after each step w <- w - lr*pull*(1 - s)*(w - w0), w0 the weights before the first step; BatchNorm statistics follow the data"
    torch.manual_seed(3)
    net = small_cnn(4)
    x, y = torch.rand(16, 1, 12, 12), torch.randint(0, 4, (16,))
    gm = GradMask(net, _dl(x), _dl(x**2), mode='pull', pull=2.)
    masks = {l: torch.linspace(0, 1, n).double() for l, n in (('body.0.conv', 32), ('body.1.conv', 64), ('body.2.conv', 128))}
    gm.set_masks(masks)
    lr, p = 0.1, dict(net.named_parameters())
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    net.train()
    w0 = {n: q.detach().clone() for n, q in p.items()}
    rm0 = net.body[0].bn.running_mean.clone()
    for _ in range(2):
        gm.save(); F.cross_entropy(net(x), y).backward(); gm.apply()
        before, g = {n: q.detach().clone() for n, q in p.items()}, {n: q.grad.detach().clone() for n, q in p.items()}
        opt.step(); opt.zero_grad(); gm.restore(opt)
    for l, s in masks.items():
        for n in (f'{l}.weight', f"{l.replace('conv', 'bn')}.weight"):
            sgd = before[n] - lr * g[n]
            f = (lr * 2. * (1 - s.float())).reshape(-1, *[1] * (sgd.ndim - 1))
            tol = 8 * torch.finfo(torch.float32).eps * float(w0[n].abs().max() + sgd.abs().max())
            np.testing.assert_allclose(p[n].detach().numpy(), (sgd - (sgd - w0[n]) * f).numpy(), rtol=0, atol=tol)
            assert float((p[n].detach() - w0[n]).abs().max()) > 100 * tol          # the kernels did train
    assert not torch.equal(net.body[0].bn.running_mean[0], rm0[0])                   # running statistics are not held
    assert abs(gm.frozen_frac - 0.5) < 1e-6

def test_block_mode_trains_only_the_most_shifted_block():
    "mode='block': the block with the largest median distance trains, every other judged kernel stays bit-identical; BatchNorm statistics follow the data"
    from growlearn.gradmask import block_masks
    torch.manual_seed(4)
    net = small_cnn(4)
    x, y = torch.rand(32, 1, 12, 12), torch.randint(0, 4, (32,))
    gm = GradMask(net, _dl(x), _dl(1 - x), mode='block').fit()
    best = [l for l, m in gm.masks.items() if not m.any()]
    assert len(best) == 1 and all(bool(m.all()) for l, m in gm.masks.items() if l not in best)
    med = {l: float(d.double().median()) for l, d in gm.dist.items()}
    assert best[0] == max(med, key=med.get)                      # one conv per block in small_cnn: the block of the largest median
    assert {l: m.tolist() for l, m in block_masks(gm.dist).items()} == {l: m.tolist() for l, m in gm.masks.items()}
    before = {k: v.detach().clone() for k, v in list(net.named_parameters()) + list(net.named_buffers())}
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.1)
    net.train()
    for i in range(3):
        gm.save(); F.cross_entropy(net(1 - x), y).backward(); gm.apply(); opt.step(); opt.zero_grad(); gm.restore(opt)
    after = dict(list(net.named_parameters()) + list(net.named_buffers()))
    for l in gm.masks:
        blk = l.rsplit('.', 1)[0]
        for n in (f'{l}.weight', f'{blk}.bn.weight', f'{blk}.bn.running_mean'):
            moved = not torch.equal(after[n].detach(), before[n])
            assert moved == (l in best or 'running' in n), (n, moved)

def test_adabn_with_given_masks_reestimates_statistics():
    "GradMaskCallback(masks=..., adabn=True): the BatchNorm statistics describe the new data before the first step"
    from fastai.learner import Learner
    from growlearn.data import tensor_dls
    from growlearn.core import quiet
    from growlearn.gradmask import GradMaskCallback
    torch.manual_seed(3)
    net = small_cnn(4)
    x, y = torch.rand(32, 1, 12, 12) * 3 + 2, torch.randint(0, 4, (32,))
    masks = {'body.0.conv': torch.ones(32, dtype=torch.bool)}
    learn = quiet(Learner(tensor_dls((x, y), (x[:8], y[:8]), bs=32), net, lr=0., cbs=GradMaskCallback(masks=masks, adabn=True, head=['body.1', 'body.2', 'head'])))
    learn.fit(1)
    with torch.no_grad(): c = net.body[0].conv(x)
    np.testing.assert_allclose(net.body[0].bn.running_mean.numpy(), c.mean((0, 2, 3)).numpy(), rtol=1e-5, atol=1e-5)
