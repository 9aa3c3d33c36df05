"""Run by tests/test_distributed_gradmask.py under `torchrun` (2 CPU processes, gloo) and as one process.

`GradMaskCallback` inside `learn.distrib_ctx()`: each rank collects the statistics of its shard of the training data,
the ranks merge them, and every rank makes the same masks. The same small CNN (BatchNorm synchronised over ranks)
trains once with binary masks (`mode='freeze'`) and once with the default (`mode='pull'`); each process saves the
pre-trained and final weights, the masks and the merged statistics to `--out`, for the test to compare.
"""
import argparse, os, sys
import warnings; warnings.simplefilter('ignore')
import torch
from fastai.basics import Learner, set_seed, Adam
import fastai.callback.schedule
from fastai.distributed import *
from growlearn.core import quiet
from growlearn.data import digits_tensors
from growlearn.models import small_cnn
from growlearn.distrib import world, sync_batchnorm, unwrap
from growlearn.gradmask import GradMaskCallback
from distrib_check import data, N           # the shared pieces: whole batches in 1 process = the ranks' half-batches

def pre_dl():
    "The 'pre-training' images: not sharded, every process reads all of them"
    x, _ = digits_tensors(12)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[N + 32:N + 96]), batch_size=32)

def train(mode, procs, epochs):
    set_seed(0)
    learn = quiet(Learner(data(procs), sync_batchnorm(small_cnn(10, chans=(8, 16, 16))), opt_func=Adam,
                          cbs=GradMaskCallback(dl_pre=pre_dl(), mode=mode)))
    w0 = {k: v.detach().clone() for k, v in learn.model.state_dict().items()}
    if procs > 1:
        with learn.distrib_ctx(cpu=True, sync_bn=False): learn.fit_one_cycle(epochs, 3e-3)
    else: learn.fit_one_cycle(epochs, 3e-3)
    gm, new = learn.gradmask, learn.gradmask.stats[1]
    return dict(w0=w0, w={k: v.detach().clone() for k, v in unwrap(learn.model).state_dict().items()},
                masks={l: m.cpu() for l, m in gm.masks.items()}, tensors={l: [n for n, _ in gm._tensors(l)] for l in gm.masks},
                steps=gm.steps, frozen_frac=gm.frozen_frac, n_new=new.n_samples,
                new_moments={l: (s.n.clone(), s.mean.clone(), s.m2.clone()) for l, s in new.items()})

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--procs', type=int, default=1); p.add_argument('--epochs', type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(1)
    res = {mode: train(mode, a.procs, a.epochs) for mode in ('freeze', 'pull')}
    rank, size = world()
    torch.save(res, os.path.join(a.out, f'gm_{size}_{rank}.pt'))

if __name__ == '__main__': main()
