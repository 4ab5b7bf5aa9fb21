"""Test-set statistics: the same as the measures taken directly, and kept in files named by what they measured."""

import numpy as np
import pytest
import torch

from rnnviz import CELL_TYPES, measures, save_checkpoint, stats
from rnnviz.recurrence import unroll
from rnnviz.serving import store
from tests.conftest import random_model


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_test_set_stats_do_not_depend_on_the_batching(cell_type, digits):
    images, labels = digits
    model = random_model(cell_type, hidden=12)
    found = stats.compute_test_set_stats(model, images, labels, batch_size=128)  # 3 uneven batches
    close = dict(rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(found.saliency, measures.row_saliency(model, images).mean(0), **close)
    np.testing.assert_allclose(found.occlusion, measures.row_occlusion(model, images).mean(0), **close)
    np.testing.assert_allclose(found.gradient_norms, measures.state_gradient_norms(model, images, labels).mean(0),
                               **close)
    if cell_type == "lstm":
        np.testing.assert_allclose(found.cell_gradient_norms,
                                   measures.state_gradient_norms(model, images, labels, "cell_state").mean(0), **close)
    else:  # no cell state
        assert found.cell_gradient_norms.shape == (0,)
    with torch.no_grad():
        states = unroll(model, images)
    for name, value in measures.unit_averages(states).items():
        np.testing.assert_allclose(found.units[name], value, err_msg=name, **close)
    for digit in (0, 7):
        np.testing.assert_allclose(found.class_means[digit], states["hidden"][labels == digit].mean(0), **close)
    with torch.no_grad():
        predictions = model(images).argmax(1)
    assert found.confusion.sum() == 300 and np.trace(found.confusion) == (predictions == labels).sum().item()
    assert found.accuracy == pytest.approx((predictions == labels).double().mean().item())
    assert len(found.misclassified) == 300 - np.trace(found.confusion)
    peaks = states["hidden"].amax(1)  # (N, hidden)
    assert found.top_digits.shape == (12, stats.TOP_K)
    assert (peaks[found.top_digits[3], 3] >= peaks[:, 3].sort(descending=True).values[stats.TOP_K - 1]).all()
    shown = set(found.top_digits.flatten()) | set(found.misclassified.image)  # the digits the views show
    assert set(found.digit_index) == shown
    for index in shown:
        np.testing.assert_allclose(found.digit(index), images[index], atol=0.5 / 255)
    assert found.digit(int(np.setdiff1d(np.arange(300), found.digit_index)[0])) is None
    table = stats.unit_table(found)
    assert list(table["unit"]) == list(range(12))
    assert np.isfinite(table["selectivity"]).all() and (table["selectivity"] >= 0).all()
    if cell_type == "rnn":
        assert table["keep_gate"].isna().all()
    else:
        assert table["keep_gate"].between(0, 1).all()


def test_stats_cache_round_trip_and_key(tmp_path, digits, monkeypatch):
    images, labels = digits[0][:100], digits[1][:100]
    checkpoint = save_checkpoint(random_model("lstm", hidden=8), tmp_path / "lstm.safetensors")
    done = []
    first = stats.make_stats(checkpoint, images, labels, progress=done.append)
    assert done and done[-1] == 1.0
    (cache_file,) = tmp_path.glob("lstm.safetensors.*.stats.npz")

    def no_recompute(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(stats, "compute_test_set_stats", no_recompute)
    second = stats.make_stats(checkpoint, images, labels)
    for name in ("saliency", "occlusion", "gradient_norms", "class_means", "top_digits", "predictions", "labels"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name), err_msg=name)
    assert second.cell_type == "lstm" and second.units.keys() == first.units.keys()
    for name in first.units:
        np.testing.assert_array_equal(second.units[name], first.units[name])
    with pytest.raises(AssertionError, match="recomputed"):  # other images: another key
        stats.make_stats(checkpoint, images[:50], labels[:50])
    save_checkpoint(random_model("lstm", hidden=8, seed=1), checkpoint)  # retrained: another key
    with pytest.raises(AssertionError, match="recomputed"):
        stats.make_stats(checkpoint, images, labels)
    assert [p.name for p in tmp_path.glob("*.stats.npz")] == [cache_file.name]


def unit_peaks(model, images, top_digits):
    """(hidden, TOP_K) each unit's highest h over the steps of each of its top digits."""
    hidden, top_k = top_digits.shape
    with torch.no_grad():
        peaks = unroll(model, images[top_digits.flatten()])["hidden"].amax(1)  # (hidden * TOP_K, hidden)
    return peaks.reshape(hidden, top_k, hidden)[torch.arange(hidden), :, torch.arange(hidden)].numpy()


@pytest.mark.slow
@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_shipped_statistics_ship_and_match_a_fresh_computation(cell_type, shipped_models, mnist_test, tmp_path,
                                                             monkeypatch):
    shipped = store.shipped_path(cell_type)
    monkeypatch.setenv("RNNVIZ_DATA", str(tmp_path / "no-mnist"))  # read with no MNIST anywhere
    kept = stats.saved_stats(shipped)
    assert kept is not None, f"{shipped.name}'s statistics are not in models/: run python -m rnnviz.stats"
    images, labels = mnist_test
    assert stats.data_key(images, labels) == stats.MNIST_TEST_KEY  # the digits the kept statistics say they measured
    fresh = stats.compute_test_set_stats(shipped_models[cell_type], images, labels)
    for name in ("saliency", "occlusion", "gradient_norms", "cell_gradient_norms", "class_means"):
        np.testing.assert_allclose(getattr(kept, name), getattr(fresh, name), rtol=1e-4, atol=1e-6, err_msg=name)
    assert kept.units.keys() == fresh.units.keys()
    for name in kept.units:  # among them the gate averages, and how often gates are open or shut, the lesson states
        np.testing.assert_allclose(kept.units[name], fresh.units[name], rtol=1e-4, atol=1e-6, err_msg=name)
    for name in ("predictions", "labels"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(fresh, name), err_msg=name)
    model = shipped_models[cell_type]  # near-ties may swap which digits share a peak: compare the peaks they reach
    np.testing.assert_allclose(unit_peaks(model, images, kept.top_digits), unit_peaks(model, images, fresh.top_digits),
                               rtol=0, atol=1e-5, err_msg="top_digits")
    misread = np.flatnonzero(kept.predictions != kept.labels)
    np.testing.assert_array_equal(kept.digit_index, np.union1d(kept.top_digits, misread))
    np.testing.assert_array_equal(kept.digit_images, (images[kept.digit_index] * 255).round().to(torch.uint8).numpy())
    assert kept.accuracy == pytest.approx(shipped_models[cell_type].info["test_accuracy"])
