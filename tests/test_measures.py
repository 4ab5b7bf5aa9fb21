"""Measures of what a network does with the rows, checked against finite differences and brute force."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnviz import CELL_TYPES, measures, trace
from rnnviz.recurrence import unroll
from tests.conftest import random_model


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_row_saliency_is_the_directional_derivative_along_the_row_gradient(cell_type, digits):
    images = digits[0][:4].double()
    model = random_model(cell_type, double=True)
    saliency = measures.row_saliency(model, images)  # (4, 28)
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
    state = (hidden[None], states["cell_state"][:, step][None]) if "cell_state" in states else hidden[None]
    if step + 1 < images.shape[1]:
        hidden = model.rnn(model.normalize(images[:, step + 1 :]), state)[0][:, -1]
    return F.cross_entropy(model.readout(hidden), labels, reduction="none")


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_state_gradient_norms_equal_finite_differences_through_later_steps(cell_type, digits):
    images, labels = digits[0][:4].double(), digits[1][:4]
    model = random_model(cell_type, double=True)  # large weights: gradients still measurable at step 0
    norms = measures.state_gradient_norms(model, images, labels)  # (4, 28)
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


def test_cell_gradient_norms_equal_finite_differences(digits):
    """||dL/dc_t|| of the LSTM: c_t reaches the loss through h_t = o_t tanh(c_t) and through c_(t+1)."""
    images, labels = digits[0][:4].double(), digits[1][:4]
    model = random_model("lstm", double=True)
    norms = measures.state_gradient_norms(model, images, labels, state="cell_state")  # (4, 28)
    with torch.no_grad():
        states = unroll(model, images)

    def loss_from_cell(step, cell):  # h_step follows c_step; the fused module resumes from (h_step, c_step)
        hidden = states["output"][:, step] * cell.tanh()
        state = (hidden[None], cell[None])
        if step + 1 < images.shape[1]:
            hidden = model.rnn(model.normalize(images[:, step + 1 :]), state)[0][:, -1]
        return F.cross_entropy(model.readout(hidden), labels, reduction="none")

    eps = 1e-4
    for step in (0, 13, 27):
        cell = states["cell_state"][:, step].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_from_cell(step, cell).sum(), cell)
        direction = grad / grad.norm(dim=1, keepdim=True)
        with torch.no_grad():
            plus = loss_from_cell(step, states["cell_state"][:, step] + eps * direction)
            minus = loss_from_cell(step, states["cell_state"][:, step] - eps * direction)
        torch.testing.assert_close(norms[:, step], (plus - minus) / (2 * eps), rtol=1e-4, atol=0)
    own = measures.own_cell_gradients(model, images)
    assert own.shape == (4, 28) and (own > 0).all()


@pytest.mark.parametrize("cell_type", CELL_TYPES)
@pytest.mark.parametrize("band", [1, 3])
def test_row_occlusion_equals_rerunning_blanked_images(cell_type, band, digits):
    images = digits[0][:20].double()
    model = random_model(cell_type, double=True)
    change = measures.row_occlusion(model, images, band=band)  # (20, 28)
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


@pytest.mark.parametrize("cell_type", ["gru", "lstm"])
def test_gate_saturation_fractions(cell_type, digits):
    model = random_model(cell_type, hidden=32)
    with torch.no_grad():
        states = unroll(model, digits[0])
    saturation = measures.gate_saturation(measures.unit_averages(states))
    assert set(saturation) == ({"reset", "update"} if cell_type == "gru" else {"input", "forget", "output"})
    for gate, (left, right) in saturation.items():
        assert left.shape == right.shape == (32,)
        assert (left >= 0).all() and (right >= 0).all() and (left + right <= 1).all()
        values = states[gate][:, :, 5].numpy()  # unit 5, all images and steps
        assert left[5].item() == pytest.approx((values < 0.1).mean())
        assert right[5].item() == pytest.approx((values > 0.9).mean())
    assert any(left.max() > 0 and right.max() > 0 for left, right in saturation.values())  # not a vacuous check


def test_unit_order(shipped_models, mnist_test):
    model = shipped_models["gru"]
    digit_trace = trace(model, mnist_test[0][0])
    weight = model.readout.weight.detach().numpy()  # (10, hidden)
    order = measures.unit_order(model, digit_trace, "contribution")
    contribution = weight[digit_trace.prediction] * digit_trace.hidden[-1]
    assert sorted(order) == list(range(model.hidden_size))
    assert np.all(np.diff(contribution[order]) <= 0)
    activity = measures.unit_order(model, digit_trace, "activity")
    assert np.all(np.diff(np.abs(digit_trace.hidden).mean(axis=0)[activity]) <= 0)
    assert list(measures.unit_order(model, digit_trace, "index")) == list(range(model.hidden_size))


def test_own_prediction_gradients_label_each_digit_with_its_prediction(shipped_models, mnist_test):
    images = mnist_test[0][:8]
    model = shipped_models["lstm"]
    with torch.no_grad():
        predicted = model(images).argmax(1)
    expected = measures.state_gradient_norms(model, images, predicted)
    torch.testing.assert_close(measures.own_prediction_gradients(model, images), expected)
    wrong_label = (predicted + 1) % 10
    assert not torch.allclose(measures.state_gradient_norms(model, images, wrong_label), expected)


def test_top_half_share_and_gradient_reach():
    curve = np.r_[np.full(14, 3.0), np.full(14, 1.0)]  # rows 1-14 hold 3/4 of the total
    assert measures.top_half_share(curve) == pytest.approx(0.75)
    assert measures.gradient_reach(np.linspace(0.1, 2.0, 28)) == pytest.approx(0.05)


def test_per_model_applies_a_measure_to_one_image(shipped_models, mnist_test):
    image = mnist_test[0][3]
    curves = measures.per_model(measures.row_saliency, shipped_models, image.numpy())
    assert set(curves) == set(shipped_models)
    for name, model in shipped_models.items():
        np.testing.assert_allclose(curves[name], measures.row_saliency(model, image[None])[0].numpy(), rtol=1e-6)
