"""Training on real digits (a stand-in MNIST made of the shipped digits): a short run learns, is
reproducible, resumes exactly, stops early with what it learned, and writes a loadable checkpoint;
batches are prepared in chunks, the same in a thread or in between steps."""

import copy
import dataclasses
import functools
import itertools

import pytest
import torch

from rnnviz import load_model
from rnnviz.data.augment import augment
from rnnviz.evaluate import accuracy
from rnnviz.recipes import Settings
from rnnviz.train import batches, cosine_rate, main, train, training_data

TINY = dict(hidden=16, epochs=1, limit=500, val_size=200)  # a run of seconds


@pytest.mark.slow
def test_short_run_learns_and_is_reproducible(tmp_path, offline_mnist):
    settings = Settings(cell_type="gru", hidden=48, epochs=3, val_size=400, batch_size=32, augment=0, lr=1e-2, seed=3)
    seen = []
    model, summary = train(settings, out=tmp_path / "gru.safetensors", on_progress=seen.append)
    assert summary["test_accuracy"] > 0.7  # chance is 0.1; measured 0.84
    assert seen[-1].val_accuracy == pytest.approx(summary["val_accuracy"])
    assert seen[-1].step == seen[-1].total_steps == 3 * 63  # 2,000 digits in batches of 32
    loaded = load_model(tmp_path / "gru.safetensors")
    assert loaded.info["test_accuracy"] == summary["test_accuracy"]
    assert loaded.info["settings"]["hidden"] == 48 and not loaded.info["stopped_early"]
    again, _ = train(settings)
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize("average", [{}, {"ema": 0.9}, {"swa_epochs": 1}])
def test_a_resumed_run_ends_where_an_unbroken_one_does(offline_mnist, average):
    settings = Settings(cell_type="lstm", **{**TINY, "epochs": 2, "limit": 300}, **average)
    states = []
    unbroken, _ = train(settings, on_epoch_end=lambda state: states.append(copy.deepcopy(state)))
    resumed, summary = train(settings, resume=states[0])
    assert [point["epoch"] for point in summary["history"]] == [1, 2]
    for a, b in zip(unbroken.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_with_ema_the_run_saves_the_moving_average_of_its_weights_after_every_step(tmp_path, offline_mnist):
    settings = Settings(cell_type="gru", hidden=16, epochs=3, batch_size=32, limit=32, val_size=200, augment=0,
                        lr=1e-2, ema=0.5)  # one step an epoch: the epochs' ends are the steps
    steps = []
    averaged, summary = train(settings, out=tmp_path / "ema.safetensors",
                              on_epoch_end=lambda state: steps.append(copy.deepcopy(state["model"])))
    last, _ = train(dataclasses.replace(settings, ema=0.0))
    expected = steps[0]  # the first update copies the weights
    for weights in steps[1:]:
        expected = {name: 0.5 * expected[name] + 0.5 * weights[name] for name in expected}
    for name, value in averaged.state_dict().items():
        torch.testing.assert_close(value, expected[name], atol=1e-6, rtol=0)
        torch.testing.assert_close(last.state_dict()[name], steps[-1][name], atol=0, rtol=0)  # the same steps
    assert any((value != last.state_dict()[name]).any() for name, value in averaged.state_dict().items())
    saved = load_model(tmp_path / "ema.safetensors")
    assert saved.info["settings"]["ema"] == 0.5
    for name, value in saved.state_dict().items():
        torch.testing.assert_close(value, averaged.state_dict()[name], atol=0, rtol=0)
    assert summary["val_accuracy"] == accuracy(averaged, *_validation(settings))


def test_with_swa_the_run_saves_the_mean_of_its_last_epochs_weights(tmp_path, offline_mnist):
    settings = Settings(cell_type="gru", hidden=16, epochs=4, batch_size=32, limit=32, val_size=200, augment=0,
                        lr=1e-2, swa_epochs=2, swa_lr=5e-3)  # one step an epoch
    ends = []
    averaged, summary = train(settings, out=tmp_path / "swa.safetensors",
                              on_epoch_end=lambda state: ends.append(copy.deepcopy(state["model"])))
    for name, value in averaged.state_dict().items():
        torch.testing.assert_close(value, (ends[2][name] + ends[3][name]) / 2, atol=1e-6, rtol=0)
    saved = load_model(tmp_path / "swa.safetensors")
    assert saved.info["settings"]["swa_epochs"] == 2
    for name, value in saved.state_dict().items():
        torch.testing.assert_close(value, averaged.state_dict()[name], atol=0, rtol=0)
    assert summary["val_accuracy"] == accuracy(averaged, *_validation(settings))


def test_a_run_stopped_before_its_averaged_epochs_saves_its_last_weights(offline_mnist):
    settings = Settings(cell_type="rnn", **{**TINY, "epochs": 3})
    plain, _ = train(settings, should_stop=lambda: True)  # one step
    averaging, summary = train(dataclasses.replace(settings, swa_epochs=1), should_stop=lambda: True)
    assert summary["stopped_early"]
    for a, b in zip(plain.state_dict().values(), averaging.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize("average", [{"swa_epochs": 1, "epochs": 1}, {"swa_epochs": 1, "ema": 0.9}])
def test_swa_needs_epochs_before_it_and_no_ema(average, offline_mnist):
    with pytest.raises(ValueError, match="swa_epochs"):
        train(Settings(cell_type="rnn", **{**TINY, **average}))


def _validation(settings: Settings):
    """The validation images and labels of a run with these settings."""
    return training_data(settings)[1]


@pytest.mark.parametrize("decay", [1.0, 1.5, -0.5])
def test_an_ema_decay_outside_0_to_1_is_refused(decay):
    with pytest.raises(ValueError, match="ema"):
        train(Settings(cell_type="rnn", **TINY, ema=decay))


def test_elastic_distortion_reaches_the_training_images(offline_mnist, monkeypatch):
    seen = []
    monkeypatch.setattr("rnnviz.train.augment", lambda *args: seen.append(args[4]) or args[0])
    train(Settings(cell_type="rnn", **TINY, elastic=0.5))
    train(Settings(cell_type="rnn", **TINY, elastic=0.5, augment=0))  # no augmentation: none of it
    assert seen and set(seen) == {0.5}


def test_stopping_early_saves_what_was_trained(tmp_path, offline_mnist):
    settings = Settings(cell_type="rnn", **{**TINY, "epochs": 3})
    _, summary = train(settings, out=tmp_path / "rnn.safetensors", should_stop=lambda: True)
    assert summary["stopped_early"] and summary["history"] == []
    assert load_model(tmp_path / "rnn.safetensors").info["stopped_early"]


def test_cli_writes_checkpoint(tmp_path, capsys, offline_mnist):
    out = tmp_path / "cli.safetensors"
    main(["--cell-type", "lstm", "--hidden", "16", "--epochs", "1", "--limit", "500", "--val-size", "200",
          "--out", str(out)])
    assert "test accuracy" in capsys.readouterr().out
    assert load_model(out).cell_type == "lstm"


def test_device_cpu_trains_there(tmp_path, offline_mnist):
    model, summary = train(Settings(cell_type="rnn", **TINY), out=tmp_path / "cpu.safetensors", device="cpu")
    assert summary["device"] == "cpu" and model.device.type == "cpu"
    assert load_model(tmp_path / "cpu.safetensors").info["device"] == "cpu"


def test_the_learning_rate_falls_on_a_cosine_to_zero():
    settings = Settings(lr=0.01)
    rates = [cosine_rate(settings, step, 100) for step in range(101)]
    assert rates[0] == 0.01 and rates[50] == pytest.approx(0.005) and rates[100] == pytest.approx(0, abs=1e-12)
    assert all(later <= earlier for earlier, later in itertools.pairwise(rates))


def test_with_swa_the_learning_rate_falls_to_swa_lr_and_stays_there_for_the_averaged_epochs():
    settings = Settings(lr=0.01, epochs=4, swa_epochs=1, swa_lr=0.002)
    rates = [cosine_rate(settings, step, 100) for step in range(101)]
    assert rates[0] == 0.01 and rates[37] == pytest.approx(0.006, abs=1e-3)
    assert rates[74] > 0.002 and rates[75:] == [0.002] * 26
    assert all(later <= earlier for earlier, later in itertools.pairwise(rates))


@pytest.mark.slow
def test_fine_tuning_starts_from_the_checkpoint_and_refuses_another_shape(tmp_path, offline_mnist):
    start = tmp_path / "start.safetensors"
    train(Settings(cell_type="gru", **TINY), out=start)
    unchanged, _ = train(Settings(cell_type="gru", **TINY, lr=0, start_from=str(start)))  # lr 0: Adam moves nothing
    for a, b in zip(load_model(start).state_dict().values(), unchanged.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    with pytest.raises(ValueError, match="is a gru with 16 units, not a lstm with 16"):
        train(Settings(cell_type="lstm", **TINY, start_from=str(start)))
    with pytest.raises(FileNotFoundError, match="train it first"):
        train(Settings(cell_type="gru", hidden=16, start_from=str(tmp_path / "missing.safetensors")))


def test_batches_cover_the_epoch_in_order_and_are_prepared_in_chunks(digits):
    images, labels = digits
    order = torch.randperm(300, generator=torch.Generator().manual_seed(0))
    chunks = []

    def prepare(batch, target):
        chunks.append(len(target))
        return batch * 2

    got = list(batches(images, labels, order, batch_size=32, prepare=prepare, chunk=100))
    assert [len(target) for _, target in got] == [32] * 9 + [12]
    assert chunks == [96, 96, 96, 12]  # 3 batches a chunk
    assert torch.equal(torch.cat([b for b, _ in got]), images[order] * 2)
    assert torch.equal(torch.cat([t for _, t in got]), labels[order])


def test_batches_are_the_same_prepared_between_steps_or_in_a_thread(digits):
    images, labels = digits
    order = torch.randperm(300, generator=torch.Generator().manual_seed(1))
    epochs = []
    for background in (True, False):
        prepare = functools.partial(augment, generator=torch.Generator().manual_seed(0))
        epochs.append(list(batches(images, labels, order, 64, prepare, chunk=128, background=background)))
    for (threaded, threaded_labels), (inline, inline_labels) in zip(*epochs, strict=True):
        assert torch.equal(threaded, inline) and torch.equal(threaded_labels, inline_labels)
