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


def test_hooked_tails_end_the_9s_stem_to_the_left_and_only_the_9s_only_when_asked(pen_records, pen_file):
    rng = np.random.default_rng(0)
    for record in [r for r in pen_records if r["label"] == 9][:20]:
        points = np.concatenate([np.array(s).reshape(-1, 2) for s in record["strokes"]])  # (P, 2) x, y down
        hooked = pen_training.hooked_tail(record["strokes"], rng)
        hook = np.array(hooked[-1])  # (8, 2)
        assert hooked[:-1] == record["strokes"] and np.allclose(hook[0], points[points[:, 1].argmax()])
        assert hook[:, 1].max() > points[:, 1].max() and hook[-1, 0] < hook[0, 0] - 0.05  # below, then left
    others = [r for r in pen_records if r["label"] != 9][:10]
    plain, _ = pen_training.render_variants(others, 1, 32, 0.3)
    assert torch.equal(pen_training.render_variants(others, 1, 32, 0.3, hooked_9s=1.0)[0], plain)
    nines = [r for r in pen_records if r["label"] == 9][:10]
    plain, _ = pen_training.render_variants(nines, 1, 32, 0.3)
    assert torch.equal(pen_training.render_variants(nines, 1, 32, 0.3, hooked_9s=0.0)[0], plain)
    assert not torch.equal(pen_training.render_variants(nines, 1, 32, 0.3, hooked_9s=1.0)[0], plain)
    pen_training.mix_in(torch.zeros(90, 28, 28), torch.zeros(90, dtype=torch.long),
                        Settings(pen_share=0.25, pen_digits=str(pen_file), pen_hooked_9s=0.5))
    assert [path.name for path in (pen_training.cache_dir() / "pen-renders").iterdir() if "-k0.5-" in path.name]


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



def test_resampling_keeps_a_stroke_s_ends_and_path_at_the_spacing_asked():
    stroke = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.5]])  # an L, 1.5 long
    coarse = pen_training.resample(stroke, 0.4)
    assert np.allclose(coarse[[0, -1]], stroke[[0, -1]]) and len(coarse) == 5  # ceil(1.5 / 0.4) + 1
    steps = np.linalg.norm(np.diff(coarse, axis=0), axis=1)
    assert np.allclose(coarse[:, 1][coarse[:, 0] < 1], 0) and np.all(steps <= 0.4)  # on the L, cutting its corner
    assert len(pen_training.resample(stroke, 0.01)) == 151
    assert pen_training.resample(np.array([[0.3, 0.3]]), 0.1).shape == (1, 2)  # a dot stays a dot


def test_stroke_jitter_turns_scales_and_shifts_each_stroke_on_its_own_within_its_bounds():
    rng = np.random.default_rng(0)
    cross = [np.linspace([0.0, 0.5], [1.0, 0.5], 11), np.linspace([0.5, 0.0], [0.5, 1.0], 11)]  # a + of two strokes
    crossing_angles = []
    for _ in range(200):
        moved = pen_training.stroke_jitter(cross, rng)
        angles = []
        for before, after in zip(cross, moved, strict=True):
            direction = after[-1] - after[0]
            offsets = after - after[0]
            assert np.allclose(offsets[:, 0] * direction[1] - offsets[:, 1] * direction[0], 0, atol=1e-9)  # straight
            assert 0.9 - 1e-9 <= np.linalg.norm(direction) <= 1.1 + 1e-9  # scaled by at most 10%
            assert np.abs(after.mean(0) - before.mean(0)).max() <= 0.04 + 1e-9  # shifted by at most 0.04
            assert np.linalg.norm(np.diff(after, axis=0), axis=1).max() <= 0.05 * 1.1 + 1e-9  # resampled
            angles.append(np.degrees(np.arctan2(direction[1], direction[0])))
        assert abs(angles[0]) <= 10 + 1e-6 and abs(angles[1] - 90) <= 10 + 1e-6  # turned by at most 10 degrees
        crossing_angles.append(angles[1] - angles[0])
    assert np.std(crossing_angles) > 4  # each stroke turned on its own: the angle between them changes
    unmoved = pen_training.stroke_jitter(cross, rng, strength=0.0)  # only resampled, finely
    assert all(np.allclose(after[[0, -1]], before[[0, -1]]) for before, after in zip(cross, unmoved, strict=True))


def test_moved_strokes_are_drawn_only_when_asked_and_kept_apart_in_the_cache(pen_records, pen_file):
    plain, _ = pen_training.render_variants(pen_records[:10], 1, 32, 0.3)
    assert torch.equal(pen_training.render_variants(pen_records[:10], 1, 32, 0.3, strokes_moved=0.0)[0], plain)
    moved, _ = pen_training.render_variants(pen_records[:10], 1, 32, 0.3, strokes_moved=1.0)
    assert 0.02 < (moved - plain).abs().mean() and moved.shape == plain.shape
    mnist = torch.zeros(270, 28, 28), torch.zeros(270, dtype=torch.long)
    without, _ = pen_training.mix_in(*mnist, Settings(pen_share=0.25, pen_digits=str(pen_file)))
    with_moved, _ = pen_training.mix_in(*mnist, Settings(pen_share=0.25, pen_digits=str(pen_file),
                                                         pen_strokes_moved=1.0))
    assert not torch.equal(without, with_moved)
    kept = sorted(path.name for path in (pen_training.cache_dir() / "pen-renders").iterdir())
    assert len(kept) == 2 and "-j1-" in kept[0] + kept[1]
