"""MkDocs hooks of growlearn's docs site (`mkdocs.yml: hooks`).

Math: `pymdownx.arithmatex` marks `$...$` and `$$...$$`; here each is converted to MathML at build time with
`latex2mathml` (pure Python). Browsers draw MathML themselves (Chromium 109+, Firefox, Safari): no JavaScript,
no web fonts, nothing fetched, and it works from `file://` as well as from a server.
"""
import html, re
from latex2mathml.converter import convert

_MATH = re.compile(r'<(span|div) class="arithmatex">\s*\\([(\[])(.*?)\\[)\]]\s*</\1>', re.S)

def tex_to_mathml(tex:str, display:bool=False) -> str:
    "MathML for the TeX `tex`; the TeX itself, marked as an error, if it cannot be converted"
    try: return convert(tex, display='block' if display else 'inline')
    except Exception: return f'<code class="gl-math-error" title="could not convert this TeX">{html.escape(tex)}</code>'

def on_page_content(content, page, config, files):
    def sub(m):
        tex, display = html.unescape(m.group(3)), m.group(2) == '['
        res = tex_to_mathml(tex, display)
        return f'<div class="gl-math">{res}</div>' if display else res
    return _MATH.sub(sub, content)
