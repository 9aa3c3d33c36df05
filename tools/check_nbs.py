"""Check the notebooks for what breaks the docs build or bloats the repo.

nbdev's docs processor (`nbdev-proc-nbs`) executes every non-exported cell that contains an import
*anywhere* in it, so a test or training cell with an `import` in it runs during the docs build.
Rule: a non-exported code cell that imports must hold only imports. Also flags notebooks whose
stored outputs exceed a size budget (outputs are committed, keep them small), and `learn.no_bar()`
used as a statement (it is a context manager: on its own it does nothing; use `growlearn.core.quiet`).
Exit status 1 when anything is found.
"""
import ast, json, re, sys
from pathlib import Path

MAX_NB_BYTES = 1_500_000

def _is_import_only(tree):
    return all(isinstance(t, (ast.Import, ast.ImportFrom)) for t in tree.body)

def _has_import(tree):
    return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))

def check(path):
    nb = json.loads(Path(path).read_text())
    problems = []
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        if re.search(r'^#\|\s*(export|exports|exporti|exec_doc)\b', src, re.M): continue
        if re.search(r'^#\|\s*eval:\s*false', src, re.M): continue
        code = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!')))
        try: tree = ast.parse(code)
        except SyntaxError as e:
            problems.append(f"cell {i}: does not parse ({e.msg})"); continue
        if _has_import(tree) and not _is_import_only(tree):
            problems.append(f"cell {i}: mixes imports with other code (nbdev-proc-nbs would execute it): move the imports to their own cell")
        for m in re.finditer(r'^\s*\w+\.no_bar\(\)\s*(;|$)', src, re.M):
            problems.append(f"cell {i}: `{m.group(0).strip()}` does nothing outside `with`; use `growlearn.core.quiet(learn)`")
    size = Path(path).stat().st_size
    if size > MAX_NB_BYTES: problems.append(f"{size/1e6:.1f} MB: outputs too large (budget {MAX_NB_BYTES/1e6:.1f} MB)")
    return problems

def main(paths):
    bad = 0
    for p in paths:
        for msg in check(p):
            print(f"{p}: {msg}"); bad += 1
    if bad: print(f"{bad} problem(s) in the notebooks"); return 1
    print(f"{len(paths)} notebooks checked: ok")
    return 0

if __name__ == '__main__':
    root = Path(__file__).resolve().parents[1]/'nbs'
    files = sys.argv[1:] or sorted(str(p) for p in root.rglob('*.ipynb') if '.ipynb_checkpoints' not in str(p) and '_proc' not in p.parts)
    sys.exit(main(files))
