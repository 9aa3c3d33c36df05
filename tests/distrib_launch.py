"""Shared by the distributed tests: run a check script on N CPU processes (`torchrun`, gloo) or as one process."""
import subprocess, sys

# A gloo process sometimes aborts while exiting, after its work is done and saved (2 of about 50 launches here); such a
# launch is run again, once. Any other failure, or a second abort, fails the test.
TEARDOWN_ABORT = 'terminate called without an active exception'

def launch(script, out, procs:int, *args, timeout:int=300):
    "Run `script --out out --procs procs *args` under `torch.distributed.run` (procs > 1) or plainly; assert it succeeded"
    if procs == 1: cmd = [sys.executable, str(script)]
    else: cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={procs}', str(script)]
    for attempt in range(2):
        r = subprocess.run(cmd + ['--out', str(out), '--procs', str(procs), *args], capture_output=True, text=True, timeout=timeout,
                           env={'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin', 'HOME': str(out)})
        if r.returncode == 0 or TEARDOWN_ABORT not in r.stderr: break
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-4000:])

def maxdiff(a:dict, b:dict) -> float:
    "Largest |Δ| between the floating-point tensors of two state dicts"
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())

def two_and_one(script, out, pattern:str='*.pt') -> dict:
    "Launch `script` on 2 processes, then on 1; the tensors each process saved in `out`, by file stem"
    import torch
    launch(script, out, 2); launch(script, out, 1)
    return {p.stem: torch.load(p) for p in out.glob(pattern)}
