"""Fail when `nbdev-export` or `nbdev-clean` would change anything: the library must be what the
notebooks export, and the notebooks must be clean. Works on a dirty tree (compares before/after)."""
import hashlib, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
bin_ = Path(sys.executable).parent

def snapshot():
    files = [p for p in (root/'growlearn').rglob('*.py')] + [p for p in (root/'nbs').rglob('*.ipynb') if '_proc' not in p.parts]
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() for p in files if '.ipynb_checkpoints' not in str(p)}

before = snapshot()
for cmd in ('nbdev-export', 'nbdev-clean'):
    r = subprocess.run([str(bin_/cmd)], cwd=root, capture_output=True, text=True)
    if r.returncode: sys.exit(f"{cmd} failed:\n{r.stdout}\n{r.stderr}")
after = snapshot()
changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
if changed:
    print("nbdev-export / nbdev-clean changed these files: the library or the notebooks were out of sync.\n"
          "Review the changes (git diff) and commit them:\n  " + "\n  ".join(changed))
    sys.exit(1)
print(f"== sync: nbdev-export and nbdev-clean change nothing ({len(after)} files)")
