"""``check_samples``: every buildable sample of an assignment folder, and each broken one's error."""

from __future__ import annotations

import shutil
import zipfile
from io import BytesIO
from pathlib import Path

from grader.authoring.released import Released
from worker.grading.samples import check_samples, samples

ROOT = Path(__file__).resolve().parents[2]


def test_check_samples_builds_the_good_ones_and_names_each_broken_file(mlp: Released, tmp_path: Path):
    folder = tmp_path / "beras-mlp"
    shutil.copytree(ROOT / "assignments/beras-mlp/samples", folder / "samples")
    (folder / "samples/a-stale.toml").write_text('[[bugs]]\nfile = "losses.py"\nfind = "no such text"\n'
                                                 'replace = "x"\n')
    (folder / "samples/z-not-toml.toml").write_text("[[")
    batch, broken = check_samples(mlp, folder)
    assert [sample.name for sample in batch] == [sample.name for sample in samples(mlp)]  # the shipped ones
    assert [sample.zip_bytes for sample in batch] == [sample.zip_bytes for sample in samples(mlp)]
    assert len(broken) == 2
    assert str(folder / "samples/a-stale.toml") in broken[0] and "occurs 0 times" in broken[0]
    assert str(folder / "samples/z-not-toml.toml") in broken[1] and "not a sample file" in broken[1]
    with zipfile.ZipFile(BytesIO(batch[0].zip_bytes)) as archive:
        assert all(name.startswith("submission/beras/") for name in archive.namelist())


def test_check_samples_without_a_samples_folder_gives_the_reference_and_the_starter(mlp: Released, tmp_path):
    batch, broken = check_samples(mlp, tmp_path)
    assert [(sample.name, sample.losing_groups) for sample in batch] == [("reference", ()), ("starter", None)]
    assert broken == []
