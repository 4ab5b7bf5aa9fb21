"""Insight computations, checked against finite differences, brute force and independent counts."""

import csv
import io
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F

from rnnviz import RowReader, insight, insight_plots, save_checkpoint, trace
from rnnviz.evaluate import predict
from rnnviz.trace import unroll

CELLS = ("rnn", "gru", "lstm")


def random_model(cell: str, hidden: int = 16, seed: int = 0, scale: float = 3.0, double: bool = False) -> RowReader:
    """Random weights, scaled up so that gates saturate sometimes."""
    torch.manual_seed(seed)
    model = RowReader(cell, hidden).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model.double() if double else model


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: these small tensors gain nothing from two, and lose a lot when the CPU is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits(mnist_test):
    """300 real test digits and labels."""
    images, labels = mnist_test
    return images[:300], labels[:300]


@pytest.mark.parametrize("cell", CELLS)
def test_row_saliency_is_the_directional_derivative_along_the_row_gradient(cell, digits):
    images = digits[0][:4].double()
    model = random_model(cell, double=True)
    saliency = insight.row_saliency(model, images)  # (4, 28)
    assert saliency.shape == (4, 28)
    with torch.no_grad():
        predicted = model(images).argmax(1, keepdim=True)

    def predicted_log_prob(x):
        return model(x).log_softmax(1).gather(1, predicted)[:, 0]  # (4,)

    x = images.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(predicted_log_prob(x).sum(), x)
    eps = 1e-6
    for row in (6, 14, 21):
        direction = torch.zeros_like(images)
        direction[:, row] = grad[:, row] / grad[:, row].norm(dim=1, keepdim=True)  # unit vector per image
        with torch.no_grad():
            plus, minus = predicted_log_prob(images + eps * direction), predicted_log_prob(images - eps * direction)
        slope = (plus - minus) / (2 * eps)
        torch.testing.assert_close(saliency[:, row], slope, rtol=1e-6, atol=1e-9)


def loss_from_step(model, images, labels, states, step, hidden):
    """Per-image loss as a function of h_step alone: the fused torch module resumes from (h_step, c_step)."""
    state = (hidden[None], states["cell"][:, step][None]) if "cell" in states else hidden[None]
    if step + 1 < images.shape[1]:
        hidden = model.rnn(model.normalize(images[:, step + 1 :]), state)[0][:, -1]
    return F.cross_entropy(model.readout(hidden), labels, reduction="none")


@pytest.mark.parametrize("cell", CELLS)
def test_hidden_gradient_norms_equal_finite_differences_through_later_steps(cell, digits):
    images, labels = digits[0][:4].double(), digits[1][:4]
    model = random_model(cell, double=True)  # large weights: gradients still measurable at step 0
    norms = insight.hidden_gradient_norms(model, images, labels)  # (4, 28)
    assert norms.shape == (4, 28)
    with torch.no_grad():
        states = unroll(model, images)
    eps = 1e-4  # the loss is O(1) and the gradient at step 0 is O(1e-6): a larger step keeps the difference exact
    for step in (0, 9, 20, 26, 27):
        hidden = states["hidden"][:, step].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_from_step(model, images, labels, states, step, hidden).sum(), hidden)
        direction = grad / grad.norm(dim=1, keepdim=True)
        with torch.no_grad():
            plus = loss_from_step(model, images, labels, states, step, states["hidden"][:, step] + eps * direction)
            minus = loss_from_step(model, images, labels, states, step, states["hidden"][:, step] - eps * direction)
        torch.testing.assert_close(norms[:, step], (plus - minus) / (2 * eps), rtol=1e-4, atol=0)
    assert (norms[:, 0] > 0).all()  # early steps do get gradient: the paths through later steps count


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("band", [1, 3])
def test_row_occlusion_equals_rerunning_blanked_images(cell, band, digits):
    images = digits[0][:20].double()
    model = random_model(cell, double=True)
    change = insight.row_occlusion(model, images, band=band)  # (20, 28)
    with torch.no_grad():
        probs = model(images).softmax(1)
        predicted = probs.argmax(1, keepdim=True)
        for row in range(28):
            blanked = images.clone()
            blanked[:, row : row + band] = 0
            expected = model(blanked).softmax(1).gather(1, predicted)[:, 0] - probs.gather(1, predicted)[:, 0]
            torch.testing.assert_close(change[:, row], expected, rtol=0, atol=1e-9)
    already_blank = images.unfold(1, band, 1).flatten(2).amax(2) == 0  # (20, 29 - band): band already empty
    assert already_blank.any() and not already_blank.all()
    assert (change[:, : already_blank.shape[1]][already_blank] == 0).all()
    assert change.abs().max() > 1e-3  # blanking ink does change something


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gate_saturation_fractions(cell, digits):
    model = random_model(cell, hidden=32)
    with torch.no_grad():
        states = unroll(model, digits[0])
    saturation = insight.gate_saturation(insight.unit_averages(states))
    assert set(saturation) == ({"reset", "update"} if cell == "gru" else {"input", "forget", "output"})
    for gate, (left, right) in saturation.items():
        assert left.shape == right.shape == (32,)
        assert (left >= 0).all() and (right >= 0).all() and (left + right <= 1).all()
        values = states[gate][:, :, 5].numpy()  # unit 5, all images and steps
        assert left[5].item() == pytest.approx((values < 0.1).mean())
        assert right[5].item() == pytest.approx((values > 0.9).mean())
    assert any(left.max() > 0 and right.max() > 0 for left, right in saturation.values())  # not a vacuous check


@pytest.mark.parametrize("cell", CELLS)
def test_test_set_stats_do_not_depend_on_the_batching(cell, digits):
    images, labels = digits
    model = random_model(cell, hidden=12)
    stats = insight.compute_test_set_stats(model, images, labels, batch_size=128)  # 3 uneven batches
    close = dict(rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(stats.saliency, insight.row_saliency(model, images).mean(0), **close)
    np.testing.assert_allclose(stats.occlusion, insight.row_occlusion(model, images).mean(0), **close)
    np.testing.assert_allclose(stats.gradient_norms, insight.hidden_gradient_norms(model, images, labels).mean(0),
                               **close)
    with torch.no_grad():
        states = unroll(model, images)
    for name, value in insight.unit_averages(states).items():
        np.testing.assert_allclose(stats.units[name], value, err_msg=name, **close)
    for digit in (0, 7):
        np.testing.assert_allclose(stats.class_means[digit], states["hidden"][labels == digit].mean(0), **close)
    with torch.no_grad():
        predictions = model(images).argmax(1)
    assert stats.confusion.sum() == 300 and np.trace(stats.confusion) == (predictions == labels).sum().item()
    assert stats.accuracy == pytest.approx((predictions == labels).double().mean().item())
    assert len(stats.misclassified) == 300 - np.trace(stats.confusion)
    peaks = states["hidden"].amax(1)  # (N, hidden)
    assert stats.top_digits.shape == (12, insight.TOP_K)
    assert (peaks[stats.top_digits[3], 3] >= peaks[:, 3].sort(descending=True).values[insight.TOP_K - 1]).all()
    table = insight.unit_table(stats)
    assert list(table["unit"]) == list(range(12))
    assert np.isfinite(table["selectivity"]).all() and (table["selectivity"] >= 0).all()
    if cell == "rnn":
        assert table["memory"].isna().all()
    else:
        assert table["memory"].between(0, 1).all()


def test_confusion_matrix_and_accuracy(shipped_models, mnist_test):
    images, labels = mnist_test[0][:2000], mnist_test[1][:2000]
    model = shipped_models["gru"]
    with torch.no_grad():
        predictions = model(images).argmax(1)
    accuracy = (predictions == labels).double().mean().item()
    confusion = insight.confusion_matrix(predict(model, images).numpy(), labels.numpy())
    assert confusion.shape == (10, 10) and confusion.sum() == 2000
    assert np.trace(confusion) / 2000 == pytest.approx(accuracy)
    np.testing.assert_array_equal(confusion.sum(1), np.bincount(labels.numpy(), minlength=10))  # rows: true digit
    np.testing.assert_array_equal(confusion.sum(0), np.bincount(predictions.numpy(), minlength=10))
    wrong = insight.misclassified(predictions.numpy(), labels.numpy())
    assert len(wrong) == 2000 - np.trace(confusion)
    assert (wrong["true"] != wrong["predicted"]).all()
    np.testing.assert_array_equal(wrong["true"], labels.numpy()[wrong["image"]])
    np.testing.assert_array_equal(wrong["predicted"], predictions.numpy()[wrong["image"]])


def test_stats_cache_round_trip_and_key(tmp_path, digits, monkeypatch):
    images, labels = digits[0][:100], digits[1][:100]
    checkpoint = save_checkpoint(random_model("lstm", hidden=8), tmp_path / "lstm.pt")
    done = []
    first = insight.test_set_stats(checkpoint, images, labels, progress=done.append)
    assert done and done[-1] == 1.0
    (cache_file,) = tmp_path.glob("lstm.pt.*.stats.npz")

    def no_recompute(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(insight, "compute_test_set_stats", no_recompute)
    second = insight.test_set_stats(checkpoint, images, labels)
    for name in ("saliency", "occlusion", "gradient_norms", "class_means", "top_digits", "predictions", "labels"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name), err_msg=name)
    assert second.cell == "lstm" and second.units.keys() == first.units.keys()
    for name in first.units:
        np.testing.assert_array_equal(second.units[name], first.units[name])
    with pytest.raises(AssertionError, match="recomputed"):  # other images: another key
        insight.test_set_stats(checkpoint, images[:50], labels[:50])
    save_checkpoint(random_model("lstm", hidden=8, seed=1), checkpoint)  # retrained: another key
    with pytest.raises(AssertionError, match="recomputed"):
        insight.test_set_stats(checkpoint, images, labels)
    assert [p.name for p in tmp_path.glob("*.stats.npz")] == [cache_file.name]


def test_stats_cache_falls_back_to_user_cache_when_folder_is_read_only(tmp_path, digits, monkeypatch):
    checkpoint = save_checkpoint(random_model("rnn", hidden=8), tmp_path / "models" / "rnn.pt")
    monkeypatch.setattr(insight.os, "access", lambda path, mode: False)
    monkeypatch.setattr(insight, "STATS_CACHE", tmp_path / "cache")
    insight.test_set_stats(checkpoint, digits[0][:20], digits[1][:20])
    assert len(list((tmp_path / "cache").glob("rnn.pt.*.stats.npz"))) == 1
    assert not list((tmp_path / "models").glob("*.npz"))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_trace_export_round_trips(cell, digits):
    record = trace(random_model(cell), digits[0][0])
    quantities = {"hidden": record.hidden, "prob": record.probs, **record.gates}
    if record.cell is not None:
        quantities["cell"] = record.cell
    rebuilt = {name: np.full_like(values, np.nan) for name, values in quantities.items()}
    for row in csv.DictReader(io.StringIO(insight.trace_to_csv(record))):
        rebuilt[row["quantity"]][int(row["step"]) - 1, int(row["unit"])] = float(row["value"])
    for name, values in quantities.items():
        np.testing.assert_array_equal(rebuilt[name], values, err_msg=name)

    loaded = json.loads(insight.trace_to_json(record))
    assert loaded["cell_type"] == cell and loaded["prediction"] == record.prediction
    assert (loaded["cell"] is None) == (cell != "lstm")
    for name in ("image", "hidden", "probs"):
        np.testing.assert_array_equal(np.array(loaded[name], dtype=np.float32), getattr(record, name), err_msg=name)
    for name, values in record.gates.items():
        np.testing.assert_array_equal(np.array(loaded["gates"][name], dtype=np.float32), values, err_msg=name)


def test_figures(digits):
    images, labels = digits[0][:60], digits[1][:60]
    stats = {cell: insight.compute_test_set_stats(random_model(cell, hidden=6), images, labels) for cell in CELLS}
    rows = insight_plots.row_importance_figure({c: s.saliency for c, s in stats.items()},
                                               {c: s.occlusion for c, s in stats.items()})
    flow = insight_plots.gradient_flow_figure({c: s.gradient_norms for c, s in stats.items()})
    saturation = insight_plots.saturation_figure(stats["lstm"].saturation)
    heatmap = insight_plots.class_means_figure(stats["gru"].class_means, unit=2)
    confusion = insight_plots.confusion_figure(stats["rnn"].confusion)
    for figure in (rows, flow, saturation, heatmap, confusion):
        assert isinstance(figure, go.Figure) and figure.layout.title.text
    assert len(rows.data) == 6 and len(flow.data) == 3
    assert flow.layout.yaxis.type == "log"
    points = [scatter for scatter in saturation.data if scatter.customdata is not None]
    assert len(points) == 3 and all(list(p.customdata) == list(range(6)) for p in points)
    assert heatmap.data[0].z.shape == (10, 28)
    assert np.asarray(confusion.data[0].text).sum() == 60
