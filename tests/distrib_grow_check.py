"""Run by tests/test_distributed_grow.py under `torchrun` (2 CPU processes, gloo) and as one process.

`GrowCallback` grows the small CNN of tests/distrib_check.py three times while it trains: Net2Wider at 30 % of
training, GradMax-style units (chosen from gradients on the held check batch) at 60 %, and an identity layer when the
validation loss plateaus. Each process saves its final weights, growth log and FLOP count to `--out`. Across
processes it then fits once more with a growth that rank 1 refuses (its `grow` patched to fail): every rank must refuse.
"""
import argparse, json, os, sys
import warnings; warnings.simplefilter('ignore')
import torch
from fastai.basics import Learner, set_seed, Adam
from fastai.metrics import accuracy
import fastai.callback.schedule
from fastai.distributed import *
import growlearn
from growlearn.core import quiet
from growlearn.models import small_cnn
from growlearn.distrib import world, sync_batchnorm, unwrap
from growlearn.grow import GrowCallback, GrowthStep
from distrib_check import data          # the same data layout as the plain distributed check

PLAN = [GrowthStep('widen', at=0.3, layer='body.0.conv', next_layer='body.1.conv', new_width=12),
        GrowthStep('widen_grad', at=0.6, layer='body.1.conv', next_layer='body.2.conv', new_width=24),
        GrowthStep('deepen', at=None, after='body.2')]          # on a plateau of the validation loss

def refusal(learn):
    "A growth refused on rank 1 only: what each rank raised, and whether its architecture and growth log stayed as they were"
    import growlearn.grow as G
    real, keys, n_log = G.grow, list(unwrap(learn.model).state_dict()), len(learn.growth_log)
    def refuse(*args, **kwargs): raise ValueError('refused on this rank (test)')
    if world()[0] == 1: G.grow = refuse
    try: learn.fit(1, 1e-3, cbs=GrowCallback([GrowthStep('deepen', at=0.5, after='body.0')], dry_run=False)); msg = None
    except Exception as e: msg = str(e)
    finally: G.grow = real
    return dict(msg=msg, same_arch=list(unwrap(learn.model).state_dict()) == keys, same_log=len(learn.growth_log) == n_log)

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--procs', type=int, default=1); p.add_argument('--epochs', type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(1)
    set_seed(0)
    cb = GrowCallback(PLAN, patience=1, min_delta=10., n_check=8)     # min_delta=10: every epoch is a plateau
    learn = quiet(Learner(data(a.procs), sync_batchnorm(small_cnn(10, chans=(8, 16, 16))), metrics=accuracy, opt_func=Adam, cbs=cb))
    if a.procs > 1:
        with learn.distrib_ctx(cpu=True, sync_bn=False):
            learn.fit_one_cycle(a.epochs, 3e-3)
            (rank, size), res = world(), _result(learn)
            res['refusal'] = refusal(learn)
    else:
        learn.fit_one_cycle(a.epochs, 3e-3)
        (rank, size), res = world(), _result(learn)
    torch.save(res, os.path.join(a.out, f'{size}_{rank}.pt'))

def _result(learn):
    "Final weights, growth log (as JSON, without timings) and FLOP count"
    return dict(weights={k: v.detach().cpu().as_subclass(torch.Tensor).clone() for k, v in unwrap(learn.model).state_dict().items()},
                log=json.loads(json.dumps([{k: v for k, v in e.items() if k != 'time_s'} for e in learn.growth_log])),
                flops=float(learn.train_flops))

if __name__ == '__main__': main()
