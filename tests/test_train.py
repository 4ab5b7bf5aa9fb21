"""A short real training run learns, is reproducible, and writes a loadable checkpoint; --device; the CLI
and the Train tab offer the same recipes."""

import pytest
import torch

from rnnviz import load_model
from rnnviz.device import DeviceMissing, resolve_device
from rnnviz.evaluate import main as evaluate_main
from rnnviz.recipes import APP_RECIPE, RECIPES, Settings
from rnnviz.stats import main as stats_main
from rnnviz.train import main, train


@pytest.mark.slow
def test_short_run_learns_and_is_reproducible(tmp_path, mnist_test):
    settings = Settings(cell_type="gru", hidden=48, epochs=2, limit=6000, val_size=1000, batch_size=64, augment=0,
                        lr=4e-3, seed=3)
    seen = []
    model, summary = train(settings, out=tmp_path / "gru.pt", on_progress=seen.append)
    assert summary["test_accuracy"] > 0.7  # chance is 0.1
    assert seen[-1].val_accuracy == pytest.approx(summary["val_accuracy"])
    assert seen[-1].step == seen[-1].total_steps == 2 * 94
    loaded = load_model(tmp_path / "gru.pt")
    assert loaded.info["test_accuracy"] == summary["test_accuracy"]
    assert loaded.info["settings"]["hidden"] == 48 and not loaded.info["stopped_early"]
    again, _ = train(settings)
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_stopping_early_saves_what_was_trained(tmp_path, mnist_test):
    settings = Settings(cell_type="rnn", hidden=16, epochs=3, limit=2000, val_size=500)
    _, summary = train(settings, out=tmp_path / "rnn.pt", should_stop=lambda: True)
    assert summary["stopped_early"]
    assert load_model(tmp_path / "rnn.pt").info["stopped_early"]


def test_cli_writes_checkpoint(tmp_path, capsys, mnist_test):
    out = tmp_path / "cli.pt"
    main(["--cell-type", "lstm", "--hidden", "16", "--epochs", "1", "--limit", "500", "--val-size", "200",
          "--out", str(out)])
    assert "test accuracy" in capsys.readouterr().out
    assert load_model(out).cell_type == "lstm"


def test_device_cpu_trains_there(tmp_path, mnist_test):
    settings = Settings(cell_type="rnn", hidden=16, epochs=1, limit=500, val_size=200)
    model, summary = train(settings, out=tmp_path / "cpu.pt", device="cpu")
    assert summary["device"] == "cpu" and model.device.type == "cpu"
    assert load_model(tmp_path / "cpu.pt").info["device"] == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")


def test_a_missing_device_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on this machine, also on a GPU box
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(DeviceMissing, match="'cuda'.*no CUDA GPU"):
        train(Settings(), device="cuda")  # before any data is loaded
    with pytest.raises(DeviceMissing, match="'tpu'"):
        resolve_device("tpu")
    for cli, extra in ((main, ["--out", str(tmp_path / "never.pt")]), (evaluate_main, ["never.pt"]),
                       (stats_main, ["never.pt"])):
        with pytest.raises(SystemExit):
            cli([*extra, "--device", "cuda"])
        assert "device 'cuda' was asked for, but torch sees no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "never.pt").exists()


def test_the_app_recipe_trains_an_lstm_100():
    settings = RECIPES[APP_RECIPE].settings
    assert (settings.cell_type, settings.hidden, settings.limit) == ("lstm", 100, 0)


@pytest.mark.slow
def test_fine_tuning_starts_from_the_checkpoint_and_refuses_another_shape(tmp_path, mnist_test):
    start = tmp_path / "start.pt"
    train(Settings(cell_type="gru", hidden=16, epochs=1, limit=500, val_size=200), out=start)
    unchanged, _ = train(Settings(cell_type="gru", hidden=16, epochs=1, limit=500, val_size=200, lr=0,
                                  start_from=str(start)))  # lr 0: Adam moves nothing, so this is the start
    for a, b in zip(load_model(start).state_dict().values(), unchanged.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    with pytest.raises(ValueError, match="is a gru with 16 units, not a lstm with 16"):
        train(Settings(cell_type="lstm", hidden=16, epochs=1, limit=500, val_size=200, start_from=str(start)))
    with pytest.raises(FileNotFoundError, match="train it first"):
        train(Settings(cell_type="gru", hidden=16, start_from=str(tmp_path / "missing.pt")))
