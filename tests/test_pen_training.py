"""Real pen digits as training images: replayed like a user's drawing, rendered once, mixed in by share."""

import json

import numpy as np
import pytest
import torch

from rnnviz.data import pen_training, pendigits
from rnnviz.recipes import Settings


@pytest.fixture
def pen_file(pen_records, tmp_path, monkeypatch):
    """30 real pen digits in a .jsonl, and an empty cache folder for their renders."""
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "pen.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in pen_records[:30]))
    return path


def test_every_variant_is_drawn_differently_through_preprocessing(pen_records):
    images, labels = pen_training.render_variants(pen_records[:10], 3, 32, 0.3)
    assert images.shape == (30, 28, 28) and labels.tolist() == [r["label"] for r in pen_records[:10]] * 3
    assert 0 <= images.min() and images.max() <= 1
    assert all((images[i] - images[i + 10]).abs().max() > 0.2 for i in range(10))  # brush, size, slant differ
    centre = (images.sum(0) > 0).nonzero().float().mean(0)  # preprocessing centred them like MNIST
    assert torch.allclose(centre, torch.tensor([13.5, 13.5]), atol=2)


def test_european_strokes_add_one_stroke_to_0s_1s_and_7s_only_when_asked(pen_records):
    rng = np.random.default_rng(0)
    for record in [r for r in pen_records if r["label"] in pen_training.STYLED][:30]:
        styled = pen_training.european_stroke(record["label"], record["strokes"], rng)
        assert styled[:-1] == record["strokes"] and np.ptp(np.array(styled[-1]), axis=0).max() > 0.1
    plain, _ = pen_training.render_variants(pen_records[:10], 1, 32, 0.3)
    assert torch.equal(pen_training.render_variants(pen_records[:10], 1, 32, 0.3, styles=0.0)[0], plain)
    assert not torch.equal(pen_training.render_variants(pen_records[:10], 1, 32, 0.3, styles=1.0)[0], plain)


def test_mixing_in_gives_the_share_and_renders_only_once(pen_file, monkeypatch):
    mnist = torch.zeros(270, 28, 28), torch.zeros(270, dtype=torch.long)
    settings = Settings(pen_share=0.25, pen_digits=str(pen_file))
    images, labels = pen_training.mix_in(*mnist, settings)
    assert len(images) == 360 and images[270:].amax((1, 2)).min() > 0.5  # 90 pen digits: a quarter of all
    monkeypatch.setattr(pen_training, "render_variants", lambda *args: pytest.fail("rendered again"))
    again, _ = pen_training.mix_in(*mnist, settings)
    assert torch.equal(again, images)
    assert pen_training.mix_in(*mnist, Settings())[0] is mnist[0]  # share 0: MNIST only


def test_several_files_and_one_institution_of_a_file_are_mixed_in(pen_records, pen_file, tmp_path):
    institutions = tmp_path / "institutions.jsonl"  # digits 30-59: every third of institution "a", the rest "b"
    institutions.write_text("".join(json.dumps({**record, "source": "ab"[i % 3 > 0]}) + "\n"
                                    for i, record in enumerate(pen_records[30:60])))
    spec = f"{pen_file}, {institutions}:a"
    assert pen_training.training_selection(spec) == [(pen_file, None), (institutions, "a")]
    assert pendigits.load(institutions, "a") == [{**r, "source": "a"} for r in pen_records[30:60:3]]
    mnist = torch.zeros(280, 28, 28), torch.zeros(280, dtype=torch.long)
    images, labels = pen_training.mix_in(*mnist, Settings(pen_share=0.2, pen_digits=spec))
    assert len(images) == 350  # 70 pen digits, drawn from 2 drawings of each of the 30 + 10 digits
    kept = [path.name for path in (pen_training.cache_dir() / "pen-renders").iterdir()]
    assert sorted(name.split("-v")[0] for name in kept) == sorted([pendigits.file_key(pen_file),
                                                                   pendigits.file_key(institutions, "a")])
    assert set(labels[280:].tolist()) <= {r["label"] for r in pen_records[:30] + pen_records[30:60:3]}


def test_a_bare_file_name_is_in_the_workspace_and_the_dev_set_is_refused(tmp_path):
    assert pendigits.parse_selection("train.jsonl,more-writers.jsonl:gmd") == [
        (pen_training.train_path(), None), (pendigits.default_path().with_name("more-writers.jsonl"), "gmd")]
    with pytest.raises(ValueError, match="dev.jsonl is for measuring only"):
        pen_training.training_selection("train.jsonl,dev.jsonl")
    digits = tmp_path / "digits.jsonl"
    digits.write_text("\n".join(json.dumps({"label": n, "strokes": [[[0, 0], [1, 1]]], "source": source})
                                for n, source in enumerate(["syn", "gmd", "syn"])))
    assert [r["label"] for r in pendigits.load(digits, "syn")] == [0, 2]
    with pytest.raises(ValueError, match="no digits of source 'xyz'"):
        pendigits.load(digits, "xyz")

