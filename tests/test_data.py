"""Data loading and augmentation on real MNIST."""

import functools

import pytest
import torch
import torch.nn.functional as F

from rnnviz import pendigits
from rnnviz.data import (
    _BICUBIC_4_TO_28,
    DatasetMissing,
    add_writer_styles,
    augment,
    batches,
    load_mnist,
    max_filter,
    sampling_grid,
    split_train_val,
)


def test_mnist_loads_from_the_offline_folder(mnist_test):
    images, labels = mnist_test
    assert images.shape == (10000, 28, 28) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() == 1
    assert torch.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_missing_dataset_says_how_to_provide_it(tmp_path):
    with pytest.raises(DatasetMissing, match="RNNVIZ_DATA"):
        load_mnist("test", tmp_path, download=False)


def test_validation_split_is_seeded_and_disjoint(mnist_test):
    images, labels = mnist_test
    ids = torch.arange(len(images), dtype=torch.float32)[:, None, None].expand(-1, 28, 28)  # each image its number
    (train, _), (val, _) = split_train_val(ids, labels, 1000, seed=1)
    (_, _), (val_again, _) = split_train_val(ids, labels, 1000, seed=1)
    (_, _), (val_other, _) = split_train_val(ids, labels, 1000, seed=2)
    train_ids, val_ids = set(train[:, 0, 0].long().tolist()), set(val[:, 0, 0].long().tolist())
    assert len(train_ids) == 9000 and len(val_ids) == 1000
    assert not train_ids & val_ids and train_ids | val_ids == set(range(len(images)))  # disjoint, all used
    assert torch.equal(val, val_again) and not torch.equal(val, val_other)  # seeded


def test_augmentation_keeps_digits_recognisable(mnist_test, shipped_models):
    images, labels = mnist_test[0][:1000], mnist_test[1][:1000]
    augmented = augment(images, labels, torch.Generator().manual_seed(0))
    assert augmented.shape == images.shape and 0 <= augmented.min() and augmented.max() <= 1
    assert (augmented - images).abs().mean() > 0.05  # it does change them
    predictions = shipped_models["lstm"](augmented).argmax(1)
    assert (predictions == labels).float().mean() > 0.95  # but they stay the same digits


def test_writer_styles_touch_only_zeros_and_ones(mnist_test):
    images, labels = mnist_test[0][:500], mnist_test[1][:500]
    styled = add_writer_styles(images, labels, torch.Generator().manual_seed(0), fraction=1.0)
    changed = (styled - images).abs().flatten(1).amax(1) > 0.5
    assert torch.equal(changed, (labels == 0) | (labels == 1))
    zeros = styled[labels == 0]
    assert (zeros[:, 13:15, 13:15] > 0.5).any(2).any(1).float().mean() > 0.9  # a slash through the hole


def test_european_style_adds_one_stroke(pen_records):
    zero = next(r for r in pen_records if r["label"] == 0)
    styled = pendigits.european_style(zero)
    assert len(styled["strokes"]) == len(zero["strokes"]) + 1
    assert pendigits.european_style(next(r for r in pen_records if r["label"] == 5)) is None


def test_fast_filters_equal_torchs():
    images = torch.rand(64, 1, 28, 28)
    for k in (3, 5):
        assert torch.equal(max_filter(images, k), F.max_pool2d(images, k, stride=1, padding=k // 2))
    wobble = torch.rand(64, 2, 4, 4)
    torch.testing.assert_close(_BICUBIC_4_TO_28 @ wobble @ _BICUBIC_4_TO_28.T,
                               F.interpolate(wobble, size=(28, 28), mode="bicubic", align_corners=False))


def test_the_sampling_grid_is_torchs_affine_grid_plus_the_upsampled_wobble():
    theta, wobble = torch.randn(64, 2, 3), torch.randn(64, 2, 4, 4) / 10
    upsampled = F.interpolate(wobble, size=(28, 28), mode="bicubic", align_corners=False)  # (64, 2, 28, 28)
    expected = F.affine_grid(theta, [64, 1, 28, 28], align_corners=False) + upsampled.permute(0, 2, 3, 1)
    torch.testing.assert_close(sampling_grid(theta, wobble), expected)


def test_batches_cover_the_epoch_in_order_and_are_prepared_in_chunks(mnist_test):
    images, labels = mnist_test[0][:1000], mnist_test[1][:1000]
    order = torch.randperm(1000, generator=torch.Generator().manual_seed(0))
    chunks = []

    def prepare(batch, target):
        chunks.append(len(target))
        return batch * 2

    got = list(batches(images, labels, order, batch_size=64, prepare=prepare, chunk=300))
    assert [len(target) for _, target in got] == [64] * 15 + [40]
    assert chunks == [256, 256, 256, 232]  # 4 batches a chunk
    assert torch.equal(torch.cat([b for b, _ in got]), images[order] * 2)
    assert torch.equal(torch.cat([t for _, t in got]), labels[order])


def test_batches_are_the_same_prepared_between_steps_or_in_a_thread(mnist_test):
    images, labels = mnist_test[0][:600], mnist_test[1][:600]
    order = torch.randperm(600, generator=torch.Generator().manual_seed(1))
    epochs = []
    for background in (True, False):
        generator = torch.Generator().manual_seed(0)
        prepare = functools.partial(augment, generator=generator)
        epochs.append(list(batches(images, labels, order, 128, prepare, chunk=256, background=background)))
    for (threaded, threaded_labels), (inline, inline_labels) in zip(*epochs, strict=True):
        assert torch.equal(threaded, inline) and torch.equal(threaded_labels, inline_labels)
