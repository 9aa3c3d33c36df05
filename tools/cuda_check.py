"""The checks that matter on a GPU, in one script: run it on a machine with CUDA.

    python tools/cuda_check.py                   # all checks on cuda:0, JSON to growlearn_out/cuda_check.json
    python tools/cuda_check.py --device cpu      # the same checks on the CPU (the test suite does this)

1. growth is exact: `deepen` and `widen` on a ResNet-18 on the device (float32, and under autocast), outputs
   compared before/after relative to their magnitude;
2. frozen rows stay frozen: a `GradMaskCallback` fit on the device (float32 and `to_fp16`) leaves every frozen
   kernel's weights bit-identical;
3. evolution equals its reference: batched `EvolvingLayer` vs the one-op-per-call reference, float64, outputs and
   gradients; and growth/pruning on the device keeps the layer's function where it must;
4. the evolve speed ratio: forward + backward of a 256-op layer against an `nn.Linear` of equal parameter count
   (batch 4096), timed with device synchronisation.

Each check records its measured figures and `ok`; the script exits 1 if any check fails.
"""
import argparse, json, platform, subprocess, sys, time, traceback, warnings
from pathlib import Path
warnings.simplefilter('ignore')
import torch, torch.nn as nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import growlearn
from growlearn.core import dtype_rtol, outputs_diff

def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def check_growth(dev, quick):
    "deepen/widen of a ResNet-18 on `dev`: max |Δ| relative to max |output|, float32 eval and under autocast"
    from torchvision.models import resnet18
    from growlearn.grow import deepen, widen, realistic_norms
    torch.manual_seed(0)
    m = realistic_norms(resnet18(num_classes=10)).to(dev).eval()
    xb = torch.randn(4 if quick else 16, 3, 64, 64, device=dev)
    with torch.no_grad(): y0 = m(xb)
    entries = [deepen(m, 'layer1.0.relu', xb=xb).entry, deepen(m, 'layer3', how='identity', xb=xb).entry,
               widen(m, 'layer2.0.conv1', 'layer2.0.conv2', 160, xb=xb).entry]
    with torch.no_grad(): y1 = m(xb)
    _, rel = outputs_diff([y0], [y1])
    res = dict(growths=[{k: e.get(k) for k in ('op', 'max_abs_diff', 'max_rel_diff', 'rtol')} for e in entries],
               rel_after_all=rel, rtol=dtype_rtol(torch.float32))
    res['ok'] = bool(rel <= dtype_rtol(torch.float32)) and all(e['checked'] for e in entries) and \
                all(p.device.type == dev.type for p in m.parameters())
    if dev.type == 'cuda':   # mixed precision: the grown model under autocast computes what the old one did under autocast
        with torch.no_grad(), torch.autocast('cuda', dtype=torch.float16): ya = m(xb).float()
        _, rel16 = outputs_diff([y1], [ya])
        res['rel_autocast_vs_fp32'] = rel16
        res['ok'] &= bool(rel16 <= dtype_rtol(torch.float16, ulps=1024))
    return res

def check_frozen_rows(dev, quick):
    "A GradMaskCallback fit on `dev`: the frozen kernels' rows are bit-identical afterwards (float32 and to_fp16)"
    from growlearn.workflow import tiny_vision_learner, tiny_vision_dls
    from growlearn.gradmask import GradMaskCallback
    res, ok = {}, True
    for fp16 in ((False,) if dev.type == 'cpu' else (False, True)):
        torch.manual_seed(0)
        learn = tiny_vision_learner(cbs=GradMaskCallback(dl_pre=tiny_vision_dls().train, mode='freeze'))
        learn.dls.to(dev); learn.model.to(dev)
        if fp16: learn = learn.to_fp16()
        before = {k: v.detach().clone() for k, v in learn.model.state_dict().items()}
        learn.fit(1, 1e-2)
        gm = learn.grad_mask.gm
        moved = frozen = 0
        for layer, mask in gm.masks.items():
            w0, w1 = before[layer + '.weight'], learn.model.state_dict()[layer + '.weight']
            idx = mask.nonzero().flatten().to(w0.device)
            frozen += len(idx)
            moved += int((w0.index_select(0, idx) != w1.index_select(0, idx)).any(dim=tuple(range(1, w0.dim()))).sum())
        trained = any(not torch.equal(before[k], v) for k, v in learn.model.state_dict().items() if v.is_floating_point())
        key = 'fp16' if fp16 else 'fp32'
        res[key] = dict(frozen_rows=frozen, moved_frozen_rows=moved, model_trained=trained)
        ok &= frozen > 0 and moved == 0 and trained
    res['ok'] = bool(ok)
    return res

def check_evolve(dev, quick):
    "Batched EvolvingLayer vs the per-op reference on `dev` (float64): max |Δ| of outputs and gradients"
    from growlearn.experiments.evolve_bench import NaiveEvLayer, random_graph
    worst = 0.
    for i in range(5 if quick else 40):
        lay, x = random_graph(i)
        lay, x = lay.to(dev), x.to(dev)
        ref = NaiveEvLayer(lay).to(dev)
        xa, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yr = lay(xa), ref(xr)
        gy = torch.randn_like(ya)
        (ya * gy).sum().backward(); (yr * gy).sum().backward()
        worst = max(worst, float((ya - yr).abs().max()), float((xa.grad - xr.grad).abs().max()))
    return dict(graphs=5 if quick else 40, max_abs_diff=worst, tol=1e-10, ok=bool(worst <= 1e-10))

def _time(m, x, dev, reps):
    best = float('inf')
    for r in range(reps + 1):
        m.zero_grad(set_to_none=True); _sync(dev); t = time.perf_counter()
        m(x).sum().backward(); _sync(dev)
        if r: best = min(best, time.perf_counter() - t)
    return best

def check_evolve_speed(dev, quick):
    "fwd+bwd of a full EvolvingLayer vs an nn.Linear of equal parameter count, timed with synchronisation"
    from growlearn.experiments.evolve_bench import full_layer
    rows = []
    for n, B in ([(16, 256)] if quick else [(64, 4096), (256, 4096)]):
        lay = full_layer(n).to(dev)
        P = sum(p.numel() for p in lay.parameters())
        lin = nn.Linear(16, max(1, round(P / 17))).to(dev)
        x = torch.randn(B, 16, device=dev)
        t_lay, t_lin = _time(lay, x, dev, 3 if quick else 20), _time(lin, x, dev, 3 if quick else 20)
        rows.append(dict(n_ops=n, batch=B, layer_ms=t_lay * 1e3, linear_ms=t_lin * 1e3, ratio=t_lay / t_lin))
    return dict(rows=rows, ok=True)    # a measurement, not a pass/fail test

CHECKS = dict(growth=check_growth, frozen_rows=check_frozen_rows, evolve_reference=check_evolve, evolve_speed=check_evolve_speed)

def machine(dev):
    info = dict(python=platform.python_version(), torch=torch.__version__, growlearn=growlearn.__version__, device=str(dev),
                cpu=platform.processor() or platform.machine())
    if dev.type == 'cuda': info['gpu'] = torch.cuda.get_device_name(dev)
    try: info['commit'] = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError: pass
    return info

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cuda'); p.add_argument('--quick', action='store_true')
    p.add_argument('--only', nargs='*', choices=list(CHECKS)); p.add_argument('--out', default='growlearn_out/cuda_check.json')
    a = p.parse_args(argv)
    dev = torch.device(a.device)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        p.error("no CUDA device is visible to PyTorch here; run on a machine with a GPU, or pass --device cpu")
    res = dict(machine=machine(dev), quick=a.quick, checks={})
    for name in a.only or CHECKS:
        t = time.perf_counter()
        try: r = CHECKS[name](dev, a.quick)
        except Exception as e: r = dict(ok=False, error=f"{type(e).__name__}: {e}", trace=traceback.format_exc(limit=6))
        r['seconds'] = round(time.perf_counter() - t, 2)
        res['checks'][name] = r
        print(f"{name:17s} {'ok  ' if r['ok'] else 'FAIL'} {json.dumps({k: v for k, v in r.items() if k not in ('ok', 'trace')}, default=str)}", flush=True)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=str))
    print(f"written {out}")
    return 0 if all(r['ok'] for r in res['checks'].values()) else 1

if __name__ == '__main__': sys.exit(main())
