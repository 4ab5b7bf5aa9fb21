"""RowReader: a recurrent cell reading rows, read out from its last hidden state; it normalises its own input."""

import pytest
import torch

from rnnviz import CELL_TYPES, RowReader
from rnnviz.model import MNIST_MEAN, MNIST_STD


@pytest.mark.parametrize("cell_type", CELL_TYPES)
def test_it_reads_the_rows_in_order_and_classifies_from_the_last_state(cell_type, digits):
    torch.manual_seed(0)
    model = RowReader(cell_type, hidden_size=12).eval()
    images = digits[0][:5]
    with torch.no_grad():
        logits = model(images)
        hidden_all, _ = model.rnn((images - MNIST_MEAN) / MNIST_STD)  # (5, 28, 12): one step per row
        assert logits.shape == (5, 10)
        torch.testing.assert_close(logits, model.readout(hidden_all[:, -1]))
        flipped = model(images.flip(1))  # the same rows bottom-up: another reading
    assert not torch.allclose(flipped, logits)


def test_its_config_rebuilds_it_and_an_unknown_cell_is_named():
    model = RowReader("gru", 33)
    assert model.config == {"cell_type": "gru", "hidden_size": 33}
    rebuilt = RowReader(**model.config)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
    assert model.device == torch.device("cpu")
    with pytest.raises(ValueError, match="cell type must be one of .*'transformer'"):
        RowReader("transformer")


def test_normalised_mnist_has_zero_mean_and_unit_variance(shipped_digits):
    normalised = RowReader.normalize(shipped_digits[0])
    assert abs(normalised.mean().item()) < 0.05 and abs(normalised.std().item() - 1) < 0.05
