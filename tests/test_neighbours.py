"""The training digits nearest to a drawing, in the selected model's own final-state space."""

import numpy as np
import pytest
import torch

from rnnviz import neighbours, save_checkpoint, stats, trace
from rnnviz.neighbours import MNIST_TRAIN_KEY, NEAREST, PER_CLASS, alike, final_states, saved_index
from rnnviz.serving import store
from tests.conftest import random_model


def test_the_index_key_is_the_training_digits(mnist_train):
    images, labels = mnist_train
    chosen = neighbours.indexed_digits(labels)
    assert len(chosen) == 10 * PER_CLASS and (np.bincount(labels[chosen]) == PER_CLASS).all()
    assert stats.data_key(images[chosen], labels[chosen]) == MNIST_TRAIN_KEY


@pytest.mark.parametrize("cell_type", store.SHIPPED)
def test_shipped_models_ship_their_index_in_their_own_state_space(cell_type, shipped_models, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "no-mnist"))  # works with no MNIST anywhere
    index = saved_index(store.shipped_path(cell_type))
    assert index is not None, f"no index beside {cell_type}.safetensors: run rnnviz neighbours models/*.safetensors"
    images = torch.from_numpy(index.images[:200]).float() / 255
    own = {name: final_states(model, images).numpy() for name, model in shipped_models.items()}
    np.testing.assert_allclose(index.states[:200], own[cell_type], atol=2e-3)  # stored as float16
    for other in set(own) - {cell_type}:
        assert np.abs(index.states[:200] - own[other]).mean() > 0.05, f"{cell_type}'s index fits {other}'s states"
    assert 0.3 < index.probability_floor < 1 and 0 < index.distance_ceiling < np.inf


def test_a_training_digit_finds_itself_first_and_the_runner_up_second(shipped_models):
    model = shipped_models["gru"]
    index = saved_index(store.shipped_path("gru"))
    position = int(np.flatnonzero(index.labels == 7)[3])
    digit_trace = trace(model, index.images[position].astype(np.float32) / 255)
    found = alike(index, digit_trace.hidden[-1], digit_trace.probs[-1])
    runner_up = int(np.argsort(digit_trace.probs[-1])[-2])
    assert [candidate.digit for candidate in found] == [7, runner_up]
    assert found[0].train_index[0] == index.train_index[position] and found[0].distances[0] < 0.01
    for candidate in found:
        assert candidate.images.shape == (NEAREST, 28, 28) and (np.diff(candidate.distances) >= 0).all()
        assert (index.labels[np.isin(index.train_index, candidate.train_index)] == candidate.digit).all()


def test_a_new_checkpoint_gets_its_index_made_and_kept(tmp_path, mnist_train, mnist_test):
    checkpoint = save_checkpoint(random_model("lstm", hidden=8), tmp_path / "mine.safetensors")
    assert saved_index(checkpoint) is None
    made = neighbours.make_index(checkpoint, *mnist_train, mnist_test[0])
    kept = saved_index(checkpoint)
    assert kept is not None and [p.parent for p in tmp_path.glob("*.neighbours.npz")] == [tmp_path]
    np.testing.assert_allclose(kept.states, made.states, atol=2e-3)
    assert kept.distance_ceiling == pytest.approx(made.distance_ceiling)
    with pytest.raises(ValueError, match="not the MNIST training digits"):
        other = save_checkpoint(random_model("lstm", hidden=8, seed=3), tmp_path / "other.safetensors")
        neighbours.make_index(other, mnist_train[0].flip(1), mnist_train[1], mnist_test[0])
