"""Paper-ready LaTeX tables (booktabs) for ``auralab report``."""

from auralab.report.render import Section, Table

# Order matters: the backslash first, or the escapes added below would be escaped again.
_LATEX_ESCAPES = [
    ("\\", r"\textbackslash{}"),
    ("&", r"\&"),
    ("%", r"\%"),
    ("$", r"\$"),
    ("#", r"\#"),
    ("_", r"\_"),
    ("{", r"\{"),
    ("}", r"\}"),
    ("~", r"\textasciitilde{}"),
    ("^", r"\textasciicircum{}"),
]


def escape_latex(text: str) -> str:
    """Escape LaTeX special characters; ``±`` becomes ``$\\pm$`` so no package is needed."""
    out = []
    for ch in text:
        out.append(next((rep for c, rep in _LATEX_ESCAPES if c == ch), ch))
    return "".join(out).replace("±", r"$\pm$")


def table_tex(table: Table) -> str:
    """One ``table`` environment with ``\\toprule``/``\\midrule``/``\\bottomrule`` (booktabs)."""
    spec = "l" + "r" * (len(table.header) - 1)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{escape_latex(table.caption)}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(escape_latex(h) for h in table.header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(escape_latex(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def to_latex(sections: list[Section]) -> str:
    """Every metric table of every section; needs ``\\usepackage{booktabs}``."""
    parts = ["% auralab report: needs \\usepackage{booktabs}"]
    for s in sections:
        for t in s.tables:
            parts.append(f"% {escape_latex(s.title)}\n" + table_tex(t))
    return "\n\n".join(parts) + "\n"
