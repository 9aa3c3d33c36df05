"""Run by tests/test_distributed_evolve.py under `torchrun` (2 CPU processes, gloo) and as one process.

A small CNN with an `EvolvingLayer` head trains with `EvolveCallback` (gradient-scored growth of 2 ops, pruning of 1 per
epoch) on the data of tests/distrib_check.py: 2 ranks × half of each batch, or 1 process × the whole batch made of the
same examples. Each process saves its final weights, the layer's buffers and the evolution log to `--out`; with
`--then-diverge` the 2 ranks then fit one more epoch in which rank 1's layer draws other candidates, and save the error.
"""
import argparse
from pathlib import Path
import warnings; warnings.simplefilter('ignore')
import torch
from fastai.basics import Learner, Callback, set_seed, Adam
import fastai.callback.schedule
from fastai.distributed import *
import growlearn
from growlearn.core import quiet
from growlearn.models import small_cnn
from growlearn.distrib import world, sync_batchnorm, unwrap
from growlearn.evolve import EvolvingLayer, EvolveCallback
from distrib_check import data, N

class _OtherDraws(Callback):
    "Just before `EvolveCallback` (order 70): give rank 1's layer another random state than rank 0's"
    order = 69
    def after_epoch(self):
        if world()[0] == 1: unwrap(self.learn.model).head.rng_state.copy_(torch.Generator().manual_seed(1).get_state())

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--procs', type=int, default=1)
    p.add_argument('--epochs', type=int, default=3); p.add_argument('--then-diverge', action='store_true')
    a = p.parse_args()
    torch.set_num_threads(1)
    set_seed(0)
    m = sync_batchnorm(small_cnn(10, chans=(8, 16, 16)))
    m.head = EvolvingLayer(16, 10, max_ops=8, seed=0)
    cb = EvolveCallback(n_grow=2, n_prune=1, grow='gradient', n_candidates=64, sample_size=N)
    learn = quiet(Learner(data(a.procs), m, opt_func=Adam, cbs=cb))
    if a.procs > 1:
        with learn.distrib_ctx(cpu=True, sync_bn=False):
            learn.fit(a.epochs, 3e-3)
            rank, size = world()
            save(learn, a.out, rank, size)
            if a.then_diverge:   # one more epoch in which rank 1's layer draws other candidates: the callback must refuse
                try: learn.fit(1, 3e-3, cbs=_OtherDraws())
                except RuntimeError as e: (Path(a.out)/f'error_{rank}.txt').write_text(str(e))
    else:
        learn.fit(a.epochs, 3e-3)
        save(learn, a.out, 0, 1)

def save(learn, out, rank, size):
    "The user's model's state and the evolution log (without the validation loss, which each rank measures on its own share)"
    torch.save(dict(state={k: v.detach().cpu() for k, v in unwrap(learn.model).state_dict().items()},
                    log=[{k: v for k, v in r.items() if k != 'valid_loss'} for r in learn.evolve_log]),
               Path(out)/f'evolve_{size}_{rank}.pt')

if __name__ == '__main__': main()
