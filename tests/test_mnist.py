"""MNIST: read from the offline folder (or a folder in torchvision's layout), a clear message when it is
missing, and a seeded validation split. (The download itself: tests/test_download.py.)"""

import pytest
import torch

from rnnviz.data.mnist import DatasetMissing, has_mnist, load_mnist, split_train_val
from rnnviz.stats import MNIST_TEST_KEY, data_key
from tests.conftest import STAND_IN_TRAIN


def test_mnist_loads_from_the_offline_folder(mnist_test):
    images, labels = mnist_test
    assert images.shape == (10000, 28, 28) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() == 1
    assert data_key(images, labels) == MNIST_TEST_KEY  # exactly the test set the shipped statistics were made on


def test_a_folder_in_torchvisions_layout_is_read(offline_mnist, shipped_digits):
    assert has_mnist(offline_mnist)
    images, labels = load_mnist("train", offline_mnist)
    assert torch.equal(images, shipped_digits[0][:STAND_IN_TRAIN])
    assert torch.equal(labels, shipped_digits[1][:STAND_IN_TRAIN])


def test_missing_dataset_says_how_to_provide_it(tmp_path):
    assert not has_mnist(tmp_path)
    with pytest.raises(DatasetMissing, match="RNNVIZ_DATA"):
        load_mnist("test", tmp_path, download=False)


def test_validation_split_is_seeded_and_disjoint(digits):
    images, labels = digits
    ids = torch.arange(len(images), dtype=torch.float32)[:, None, None].expand(-1, 28, 28)  # each image its number
    (train, train_labels), (val, _) = split_train_val(ids, labels, 100, seed=1)
    (_, _), (val_again, _) = split_train_val(ids, labels, 100, seed=1)
    (_, _), (val_other, _) = split_train_val(ids, labels, 100, seed=2)
    train_ids, val_ids = set(train[:, 0, 0].long().tolist()), set(val[:, 0, 0].long().tolist())
    assert len(train_ids) == 200 and len(val_ids) == 100
    assert not train_ids & val_ids and train_ids | val_ids == set(range(len(images)))  # disjoint, all used
    assert torch.equal(val, val_again) and not torch.equal(val, val_other)  # seeded
    assert torch.equal(train_labels, labels[train[:, 0, 0].long()])  # the labels travel with their images
