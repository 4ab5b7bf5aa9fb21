"""Real pen digits as training images: replayed like a user's drawing, rendered once, mixed in by share."""

import json

import pytest
import torch

from rnnviz.data import pen_training
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


def test_mixing_in_gives_the_share_and_renders_only_once(pen_file, monkeypatch):
    mnist = torch.zeros(270, 28, 28), torch.zeros(270, dtype=torch.long)
    settings = Settings(pen_share=0.25, pen_digits=str(pen_file))
    images, labels = pen_training.mix_in(*mnist, settings)
    assert len(images) == 360 and images[270:].amax((1, 2)).min() > 0.5  # 90 pen digits: a quarter of all
    monkeypatch.setattr(pen_training, "render_variants", lambda *args: pytest.fail("rendered again"))
    again, _ = pen_training.mix_in(*mnist, settings)
    assert torch.equal(again, images)
    assert pen_training.mix_in(*mnist, Settings())[0] is mnist[0]  # share 0: MNIST only
