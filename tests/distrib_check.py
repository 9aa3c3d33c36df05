"""Run by tests/test_distributed.py under `torchrun` (N CPU processes, gloo) and as one process.

Every rank trains the same small CNN (BatchNorm synchronised over ranks) on its slice of each batch; one process
trains on whole batches made of the same examples. Each process saves its final weights (and what the callback
under test recorded) to `--out`, for the test to compare.
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
from growlearn.data import digits_tensors, tensor_dls
from growlearn.models import small_cnn
from growlearn.distrib import world, sync_batchnorm, unwrap

N, BS = 64, 16          # training examples; global batch size

def data(n_procs):
    "Whole batches in one process hold the same examples as the ranks' slices of a distributed batch"
    x, y = digits_tensors(12)
    xt, yt = x[:N], y[:N]
    if n_procs == 1:   # DistributedDL gives rank r the r-th contiguous chunk; batch k = chunk_r[k*bs_r:(k+1)*bs_r] for each r
        per = BS // 2
        order = torch.cat([torch.cat([torch.arange(r * N // 2 + k * per, r * N // 2 + (k + 1) * per) for r in range(2)])
                           for k in range(N // 2 // per)])
        xt, yt = xt[order], yt[order]
    return tensor_dls((xt, yt), (x[N:N + 32], y[N:N + 32]), bs=BS // n_procs, shuffle=False)

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--procs', type=int, default=1)
    p.add_argument('--epochs', type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(1)
    set_seed(0)
    learn = quiet(Learner(data(a.procs), sync_batchnorm(small_cnn(10, chans=(8, 16, 16))), metrics=accuracy, opt_func=Adam))
    if a.procs > 1:
        with learn.distrib_ctx(cpu=True, sync_bn=False): learn.fit_one_cycle(a.epochs, 3e-3)
    else: learn.fit_one_cycle(a.epochs, 3e-3)
    rank, size = world()
    torch.save({k: v.detach().cpu() for k, v in unwrap(learn.model).state_dict().items()}, os.path.join(a.out, f'{size}_{rank}.pt'))

if __name__ == '__main__': main()
