"""Evaluation: the confusion matrix and the misread digits, counted independently; pen digits per class, cached."""

import numpy as np
import pytest
import torch

from rnnviz.data import pendigits
from rnnviz.evaluate import confusion_matrix, digit_accuracy, misclassified, pen_digit_images, predict


def test_confusion_matrix_and_accuracy(shipped_models, mnist_test):
    images, labels = mnist_test[0][:2000], mnist_test[1][:2000]
    model = shipped_models["gru"]
    with torch.no_grad():
        predictions = model(images).argmax(1)
    accuracy = (predictions == labels).double().mean().item()
    confusion = confusion_matrix(predict(model, images).numpy(), labels.numpy())
    assert confusion.shape == (10, 10) and confusion.sum() == 2000
    assert np.trace(confusion) / 2000 == pytest.approx(accuracy)
    np.testing.assert_array_equal(confusion.sum(1), np.bincount(labels.numpy(), minlength=10))  # rows: true digit
    np.testing.assert_array_equal(confusion.sum(0), np.bincount(predictions.numpy(), minlength=10))
    wrong = misclassified(predictions.numpy(), labels.numpy())
    assert len(wrong) == 2000 - np.trace(confusion)
    assert (wrong["true"] != wrong["predicted"]).all()
    np.testing.assert_array_equal(wrong["true"], labels.numpy()[wrong["image"]])
    np.testing.assert_array_equal(wrong["predicted"], predictions.numpy()[wrong["image"]])


def test_pen_digit_images_are_cached_by_key_and_read_back_the_same(pen_records, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_CACHE", str(tmp_path))
    fresh = pen_digit_images(pen_records[:20], 18, 0.65)
    assert torch.equal(pen_digit_images(pen_records[:20], 18, 0.65, cached_as="some-file"), fresh)
    monkeypatch.setattr(pendigits, "render", lambda *args: pytest.fail("rendered again"))
    assert torch.equal(pen_digit_images(pen_records[:20], 18, 0.65, cached_as="some-file"), fresh)
    assert [path.name for path in (tmp_path / "pen-evals").iterdir()] == ["some-file-w18-h0.65-s0.npz"]


def test_digit_accuracy_is_each_class_over_every_condition():
    labels = torch.tensor([1, 1, 7, 0])
    predictions = {(12, 0.4): torch.tensor([1, 7, 7, 0]), (18, 0.4): torch.tensor([1, 1, 1, 0])}
    accuracy = digit_accuracy(predictions, labels)
    assert (accuracy[0], accuracy[1], accuracy[7]) == (1.0, 0.75, 0.5)
