"""`tools/cuda_check.py` — the script prepared for a machine with a GPU — runs its checks on the CPU and passes them."""
import json, subprocess, sys
import pytest, torch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_cuda_check_script_on_cpu(tmp_path):
    out = tmp_path/'cc.json'
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'cuda_check.py'), '--device', 'cpu', '--quick', '--out', str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    res = json.loads(out.read_text())
    assert set(res['checks']) == {'growth', 'frozen_rows', 'evolve_reference', 'evolve_speed'}
    assert all(c['ok'] for c in res['checks'].values())
    assert res['checks']['frozen_rows']['fp32']['frozen_rows'] > 0
    assert res['machine']['device'] == 'cpu'

@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is visible: the script runs instead of refusing')
def test_cuda_check_says_clearly_when_there_is_no_gpu():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'cuda_check.py')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'no CUDA device' in r.stderr
