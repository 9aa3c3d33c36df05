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
from growlearn.distrib import world, sync_batchnorm, unwrap, merge_moments, broadcast_batch, same_on_all_ranks, all_agree

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

def rank_data(rank):
    "Each rank's own rows (different counts), for the collectives check"
    return torch.randn(5 + 3 * rank, 4, generator=torch.Generator().manual_seed(rank), dtype=torch.float64)

def collectives(out):
    "Merge per-rank moments, broadcast a batch of rank-dependent shape; save what rank 0 and rank 1 got"
    import torch.distributed as dist
    dist.init_process_group('gloo')
    rank, _ = world()
    x = rank_data(rank)
    n = torch.full((4,), float(len(x)), dtype=torch.float64)
    mean = x.mean(0); m2 = ((x - mean) ** 2).sum(0)
    res = dict(moments=merge_moments(n, mean, m2), batch=broadcast_batch((x[:2 + rank], torch.arange(3 + rank))),
               same=same_on_all_ranks(torch.ones(3)), differ=same_on_all_ranks(torch.full((3,), float(rank))),
               agree=all_agree(rank == 0))
    torch.save(res, os.path.join(out, f'coll_{rank}.pt'))
    dist.destroy_process_group()

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--procs', type=int, default=1)
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--task', default='train')
    a = p.parse_args()
    if a.task == 'collectives': return collectives(a.out)
    torch.set_num_threads(1)
    set_seed(0)
    learn = quiet(Learner(data(a.procs), sync_batchnorm(small_cnn(10, chans=(8, 16, 16))), metrics=accuracy, opt_func=Adam))
    if a.procs > 1:
        with learn.distrib_ctx(cpu=True, sync_bn=False): learn.fit_one_cycle(a.epochs, 3e-3)
    else: learn.fit_one_cycle(a.epochs, 3e-3)
    rank, size = world()
    torch.save({k: v.detach().cpu() for k, v in unwrap(learn.model).state_dict().items()}, os.path.join(a.out, f'{size}_{rank}.pt'))

if __name__ == '__main__': main()
