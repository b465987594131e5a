"""normalize: names, strings and layout erased as copydetect does; broken code still normalized."""

from __future__ import annotations

import pytest

from grader.similarity.normalize import normalize


def test_names_comments_and_layout_do_not_change_the_normalized_text():
    one = 'def step(self, w, g):\n    out = w - self.lr * g  # descend\n    return out\n'
    two = 'def update(self, weights, grad):\n\n    new = weights - self.lr * grad\n    return new\n'
    assert normalize("a.py", one).text == normalize("a.py", two).text == "defF(self,V,V):V=V-self.V*VreturnV"


def test_strings_docstrings_and_f_strings_become_s_and_classes_o():
    text = 'class Net(Base):\n    """Doc."""\n    name = f"n{1 + 2}" + \'x\'\n'
    assert normalize("a.py", text).text == "classO(V):SV=S+S"


def test_each_character_maps_back_to_its_source():
    text = "total = len(items)\n"
    norm = normalize("a.py", text)
    assert norm.text == "V=len(V)"
    assert [text[s:e] for s, e in zip(norm.starts, norm.ends)] == ["total", "=", "l", "e", "n", "(", "items",
                                                                   ")"]


def test_code_the_tokenizer_refuses_is_normalized_by_pygments():
    broken = 'def f(x:\n    return "unclosed\n'
    norm = normalize("a.py", broken)
    assert norm.text.startswith("defF(V") and len(norm.starts) == len(norm.text)


def test_only_python_is_normalized():
    with pytest.raises(ValueError, match="notes.txt"):
        normalize("notes.txt", "hello")
