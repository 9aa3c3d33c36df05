"""Check the notebooks for what breaks the docs build or bloats the repo.

nbdev's docs processor (`nbdev-proc-nbs`) executes every non-exported cell that contains an import
*anywhere* in it, so a test or training cell with an `import` in it runs during the docs build.
Rule: a non-exported code cell that imports must hold only imports. Also flags notebooks whose
stored outputs exceed a size budget (outputs are committed, keep them small), and `learn.no_bar()`
used as a statement (it is a context manager: on its own it does nothing; use `growlearn.core.quiet`).
Exit status 1 when anything is found.

Reader checks (what a newcomer sees): no stored warnings or stderr, every `#| slow` cell says how long it takes
(a comment such as `# slow: about 3 min on 2 CPU cores`), no paragraph over 1,000 characters, no internal jargon
(numbered source texts, "the issue", internal folders). They fail for every notebook; a notebook listed in
`READER_EXEMPT` (none today) would only have them reported.
"""
import ast, json, os, re, sys
from pathlib import Path

MAX_NB_BYTES = 1_500_000
MAX_PARAGRAPH = 1_000
READER_EXEMPT = set()
JARGON = [r'\bseed 0\d\d\b', r"\bthe seed's\b", r'\bseeds?/', r'\bthe issue\b', r"\bissue's\b", r'\bshared/(?!data)',
          r'REFERENCE\.md', r'STYLE\.md']
SLOW_TIME = re.compile(r'#\s*slow:.*\d\s*(s|sec|seconds|min|minutes|h)\b', re.I)

def reader_problems(nb) -> list:
    "What a reader should not meet: stored warnings/stderr, untimed slow cells, very long paragraphs, jargon"
    res = []
    for i, c in enumerate(nb['cells']):
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            for para in re.split(r'\n\s*\n', src):
                if len(para) > MAX_PARAGRAPH and not para.lstrip().startswith(('|', '```')):
                    res.append(f"cell {i}: a paragraph of {len(para)} characters (split it; at most {MAX_PARAGRAPH})")
        for pat in JARGON:
            if c['cell_type'] == 'markdown' and re.search(pat, src, re.I): res.append(f"cell {i}: internal wording /{pat}/")
        if c['cell_type'] != 'code': continue
        if re.search(r'^#\|\s*slow\b', src, re.M) and not SLOW_TIME.search(src):
            res.append(f"cell {i}: `#| slow` without its expected time (add e.g. `# slow: about 3 min on 2 CPU cores`)")
        for o in c.get('outputs', []):
            txt = ''.join(o.get('text', '')) if o.get('output_type') == 'stream' else ''
            if o.get('output_type') == 'stream' and o.get('name') == 'stderr': res.append(f"cell {i}: stored stderr: {txt.strip()[:80]!r}")
            elif re.search(r'\w+Warning:', txt): res.append(f"cell {i}: stored warning: {txt.strip()[:80]!r}")
    return res

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

NBS = Path(__file__).resolve().parents[1]/'nbs'

def _rel(p):
    try: return str(Path(p).resolve().relative_to(NBS.resolve()))
    except ValueError: return str(p)

def main(paths, enforce_all=False):
    bad, later = 0, 0
    for p in paths:
        for msg in check(p):
            print(f"{p}: {msg}"); bad += 1
        enforced = enforce_all or _rel(p) not in READER_EXEMPT
        for msg in reader_problems(json.loads(Path(p).read_text())):
            if enforced: print(f"{p}: {msg}"); bad += 1
            else: print(f"{p}: (reader check, not enforced yet) {msg}"); later += 1
    if later: print(f"{later} reader problem(s) reported in notebooks in READER_EXEMPT (not failing)")
    if bad: print(f"{bad} problem(s) in the notebooks"); return 1
    print(f"{len(paths)} notebooks checked: ok")
    return 0

if __name__ == '__main__':
    args = [a for a in sys.argv[1:] if a != '--all']
    enforce_all = '--all' in sys.argv[1:] or os.environ.get('GROWLEARN_READER_CHECKS') == 'all'
    files = args or sorted(str(p) for p in NBS.rglob('*.ipynb') if '.ipynb_checkpoints' not in str(p) and '_proc' not in p.parts)
    sys.exit(main(files, enforce_all))
