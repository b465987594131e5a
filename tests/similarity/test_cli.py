"""``beras-grader similarity``: JSON and HTML from a folder of zips; bad input exits 2, no traceback."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.authoring.release import stage_autograder
from grader.cli import app
from tests.similarity import corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release")
    return stage_autograder(corpus.ROOT / "assignments" / "beras-mlp", out,
                            reference_package=corpus.ROOT / "reference" / "beras")


def _zip(path: Path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for rel, text in files.items():
            archive.writestr(f"beras/{rel}", text)


@pytest.fixture
def subs(tmp_path, release) -> Path:
    folder = tmp_path / "subs"
    folder.mkdir()
    starter = {rel: (release / "starter" / "beras" / rel).read_text() for rel in corpus.starter()}
    src = corpus.sources()
    _zip(folder / "alice.zip", src["A"])
    _zip(folder / "bob.zip", corpus.reorder(corpus.recomment(src["A"])))
    _zip(folder / "carol.zip", src["B"])
    _zip(folder / "dan.zip", starter)
    _zip(folder / "erin.zip", starter)
    return folder


def test_json_lists_the_flagged_pairs_and_html_shows_them_side_by_side(release, subs, tmp_path):
    out, pairs = tmp_path / "report.html", tmp_path / "pairs.json"
    result = runner.invoke(app, ["similarity", str(release), str(subs), "--out", str(out),
                                 "--json", str(pairs)])
    assert result.exit_code == 0, result.output
    flagged = json.loads(pairs.read_text())
    assert [(p["a"], p["b"]) for p in flagged] == [("alice.zip", "bob.zip")]
    assert flagged[0]["score"] == max(flagged[0]["score_ab"], flagged[0]["score_ba"]) >= 0.5
    page = out.read_text()
    assert "alice.zip" in page and "bob.zip" in page and "carol.zip" not in page
    assert page.count("class='hit'") > 20
    assert "<script" not in page and "http://" not in page and "https://" not in page  # self-contained


def test_archive_pairs_carry_the_flag(release, subs, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    _zip(old / "carol.zip", corpus.rename(corpus.sources()["B"], corpus.B_NAMES))  # same zip name as now
    pairs = tmp_path / "pairs.json"
    result = runner.invoke(app, ["similarity", str(release), str(subs), "--archive", str(old),
                                 "--json", str(pairs)])
    assert result.exit_code == 0, result.output
    assert {(p["a"], p["b"]) for p in json.loads(pairs.read_text())} == {("alice.zip", "bob.zip"),
                                                                        ("carol.zip", "old/carol.zip")}


@pytest.mark.parametrize("case", ["missing folder", "not a zip", "no starter", "no zips"])
def test_bad_input_is_a_clear_error_and_exit_2(release, subs, tmp_path, case):
    release_arg, subs_arg, expected = str(release), str(subs), ""
    if case == "missing folder":
        subs_arg, expected = str(tmp_path / "nowhere"), "is not a folder"
    elif case == "not a zip":
        (subs / "mallory.zip").write_text("not a zip at all")
        expected = "mallory.zip"
    elif case == "no starter":
        broken = tmp_path / "broken"
        broken.mkdir()
        for part in ("beras-mlp", "reference", "test-ids.json"):
            source = release / part
            (broken / part).symlink_to(source, target_is_directory=source.is_dir())
        release_arg, expected = str(broken), "starter"
    else:
        empty = tmp_path / "empty"
        empty.mkdir()
        subs_arg, expected = str(empty), "holds no .zip files"
    result = runner.invoke(app, ["similarity", release_arg, subs_arg])
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output


def test_an_earlier_starter_can_be_excluded_too(release, tmp_path):
    # two students who began from an earlier starter and changed nothing share its differences from this one
    marker = "        params, grads = list(params), list(grads)\n"
    earlier = dict(corpus.starter())
    assert marker in earlier["optimizers.py"]
    earlier["optimizers.py"] = earlier["optimizers.py"].replace(marker, marker + (
        "        if not isinstance(params, list) or not isinstance(grads, list):\n"
        "            raise TypeError(f'{type(self).__name__}: expected lists, got {type(params)}')\n"
        "        total = sum(getattr(p, 'size', 0) for p in params) + len(grads) * 0\n"))
    folder = tmp_path / "subs"
    folder.mkdir()
    _zip(folder / "dan.zip", earlier)
    _zip(folder / "erin.zip", earlier)
    _zip(tmp_path / "starter-v1.zip", earlier)
    pairs = tmp_path / "pairs.json"
    result = runner.invoke(app, ["similarity", str(release), str(folder), "--json", str(pairs)])
    assert result.exit_code == 0, result.output
    assert [(p["a"], p["b"]) for p in json.loads(pairs.read_text())] == [("dan.zip", "erin.zip")]
    result = runner.invoke(app, ["similarity", str(release), str(folder), "--json", str(pairs),
                                 "--exclude", str(tmp_path / "starter-v1.zip")])
    assert result.exit_code == 0, result.output
    assert json.loads(pairs.read_text()) == []
