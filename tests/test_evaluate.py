"""Evaluation: the confusion matrix and the misread digits, counted independently."""

import numpy as np
import pytest
import torch

from rnnviz.evaluate import confusion_matrix, misclassified, predict


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
