"""Repository-level checks: the console script as installed."""
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _run(*args):
    exe = Path(sys.executable).parent/'growlearn'
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=ROOT, timeout=300)

def test_console_script_lists_benchmarks():
    r = _run('bench', 'list')
    assert r.returncode == 0 and r.stdout.split(), r.stderr
    r = _run('bench', 'no-such-bench')
    assert r.returncode == 2 and r.stderr.startswith('usage: growlearn bench') and 'unknown benchmark' in r.stderr

def test_console_script_help_version_and_errors():
    from growlearn import __version__
    for args in [('--help',), ('demo', '--help'), ('bench', '--help')]:
        r = _run(*args)
        assert r.returncode == 0 and r.stdout.startswith('usage: growlearn') and not r.stderr, (args, r.stderr[-1000:])
    assert 'finetune' in _run('demo', '--help').stdout                      # the arms, by slug
    r = _run('--version'); assert (r.returncode, r.stdout.strip()) == (0, f'growlearn {__version__}')
    r = _run('demo', '--arms', 'nope')
    assert r.returncode == 2 and r.stderr.startswith('usage: growlearn demo') and "invalid choice: 'nope'" in r.stderr
