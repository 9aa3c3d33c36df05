"""Shared by the distributed tests: run a check script on N CPU processes (`torchrun`, gloo) or as one process."""
import subprocess, sys

def launch(script, out, procs:int, *args, timeout:int=300):
    "Run `script --out out --procs procs *args` under `torch.distributed.run` (procs > 1) or plainly; assert it succeeded"
    if procs == 1: cmd = [sys.executable, str(script)]
    else: cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={procs}', str(script)]
    r = subprocess.run(cmd + ['--out', str(out), '--procs', str(procs), *args], capture_output=True, text=True, timeout=timeout,
                       env={'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin', 'HOME': str(out)})
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-4000:])

def maxdiff(a:dict, b:dict) -> float:
    "Largest |Δ| between the floating-point tensors of two state dicts"
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())

def two_and_one(script, out, pattern:str='*.pt') -> dict:
    "Launch `script` on 2 processes, then on 1; the tensors each process saved in `out`, by file stem"
    import torch
    launch(script, out, 2); launch(script, out, 1)
    return {p.stem: torch.load(p) for p in out.glob(pattern)}
