"""The detection corpus: submissions built from the starter and the implementations, and their disguises."""

from __future__ import annotations

import ast
import re
import textwrap
from functools import lru_cache
from pathlib import Path

from grader.authoring.config import load_assignment
from grader.authoring.stubs import render_stub
from grader.similarity import Submission
from tests.similarity import implementations

ROOT = Path(__file__).resolve().parents[2]
FILES = {"layers/dense.py": "Dense", "gradient_tape.py": "GradientTape", "optimizers.py": None}


@lru_cache(maxsize=1)
def starter() -> dict[str, str]:
    """beras-mlp's owned files as the starter ships them (rendered from the marked reference)."""
    owned = load_assignment(ROOT / "assignments" / "beras-mlp").files.owned
    return {rel: render_stub((ROOT / "reference" / "beras" / rel).read_text(), rel).text for rel in owned}


def fill(bodies: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """The starter with each ``raise NotImplementedError("Q")`` stub replaced by ``bodies[Q]``."""
    files = dict(starter())
    for rel in FILES:
        text = files[rel]
        for qualname, body in bodies.items():
            name = re.escape(qualname)
            todo = rf"(?:# TODO: implement {name}\n *)?"
            stub = re.compile(rf'^( *){todo}raise NotImplementedError\("{name}"\)\n', re.M)
            text = stub.sub(lambda m, b=body: textwrap.indent(b.strip("\n") + "\n", m.group(1)), text)
        files[rel] = text + (extra or {}).get(rel, "")
    return files


def rename(files: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    """Every whole-word occurrence of each name replaced (identifiers renamed), in the corpus' files."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return {rel: pattern.sub(lambda m: names[m.group(1)], text) if rel in FILES else text
            for rel, text in files.items()}


def recomment(files: dict[str, str]) -> dict[str, str]:
    """Comments added after each line of code that ends a statement, blank lines doubled, TODOs dropped."""
    def one(text: str) -> str:
        out = []
        for line in text.splitlines():
            if "# TODO" in line:
                continue
            out.append(line)
            if line.strip().endswith(")") and not line.lstrip().startswith(("def ", "class ", "@")):
                out.append(" " * (len(line) - len(line.lstrip())) + "# checked this step by hand")
            elif not line.strip():
                out.append("")
        return "\n".join(out) + "\n"
    return {rel: one(text) if rel in FILES else text for rel, text in files.items()}


def reorder(files: dict[str, str]) -> dict[str, str]:
    """Methods of Dense and GradientTape in reverse order; SGD, RMSProp and Adam in reverse order."""
    out = dict(files)
    for rel, cls in FILES.items():
        tree = ast.parse(out[rel])
        if cls is None:
            nodes = [n for n in tree.body
                     if isinstance(n, ast.ClassDef) and n.name in ("SGD", "RMSProp", "Adam")]
        else:
            body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls).body
            nodes = [n for n in body if isinstance(n, ast.FunctionDef) and n.name != "__init__"]
        out[rel] = _reverse_spans(out[rel], nodes)
    return out


def _reverse_spans(text: str, nodes: list[ast.stmt]) -> str:
    lines = text.splitlines(keepends=True)
    spans = [((n.decorator_list[0].lineno if getattr(n, "decorator_list", None) else n.lineno) - 1,
              n.end_lineno) for n in nodes]
    blocks = ["".join(lines[a:b]) for a, b in spans]
    result, last = [], 0
    for (a, b), block in zip(spans, reversed(blocks)):
        result += lines[last:a] + [block]
        last = b
    return "".join(result + lines[last:])


A_NAMES = {"bias": "offset", "kernel_t": "w_transposed", "upstream": "grad_out", "needed": "relevant",
           "saved": "snapshots", "rec": "entry", "input_grads": "dxs", "weight_grads": "dws", "buf": "vel",
           "update": "direction", "avg": "running", "m_hat": "first_unbiased", "v_hat": "second_unbiased",
           "_moment": "_ema"}
B_NAMES = {"rows": "batch_x", "kernel": "mat", "where": "position_of", "todo": "frontier",
           "originals": "backup", "velocity": "vel_buf", "sq": "mean_sq", "denom": "scale",
           "corr1": "fix1", "corr2": "fix2"}
C_NAMES = {"flows": "pending", "restore": "undo", "entry": "node", "pieces": "parts_out",
           "targets": "receivers", "cache": "sq_avg", "first": "mom1", "second": "mom2",
           "count": "steps", "out": "new_w"}


def sources() -> dict[str, dict[str, str]]:
    """The three independent implementations, as submissions' files."""
    return {"A": fill(implementations.A, implementations.A_EXTRA), "B": fill(implementations.B),
            "C": fill(implementations.C)}


def disguises() -> list[tuple[str, str, dict[str, str]]]:
    """``(source, disguise name, files)`` for every disguised copy of every source."""
    names = {"A": A_NAMES, "B": B_NAMES, "C": C_NAMES}
    out = []
    for key, files in sources().items():
        out += [(key, "renamed", rename(files, names[key])), (key, "recommented", recomment(files)),
                (key, "reordered", reorder(files)),
                (key, "all three", reorder(recomment(rename(files, names[key]))))]
    inlined = fill(implementations.A_INLINED)
    out += [("A", "helper inlined", inlined),
            ("A", "inlined + all three", reorder(recomment(rename(inlined, A_NAMES))))]
    return out


def as_submission(name: str, files: dict[str, str]) -> Submission:
    return Submission(name, files)


def zip_bytes(files: dict[str, str]) -> bytes:
    """A submission zip of ``files`` (owned path -> text) as the starter's make_submission.py lays it out."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for rel, text in files.items():
            archive.writestr(f"beras/{rel}", text)
    return buffer.getvalue()
