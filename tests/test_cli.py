"""The command line every tool shares: its flags, --help for every tool, and a missing device or a bad
argument ending the command with a message, never a traceback or a half-written file."""

import pytest
import torch

from rnnviz import cli, evaluate, memory, neighbours, stats, train
from rnnviz.data import gallery

TOOLS = {"evaluate": evaluate.main, "stats": stats.main, "memory": memory.main, "neighbours": neighbours.main,
         "train": train.main, "gallery": gallery.main}
COMPUTING = {"evaluate": ["never.pt"], "stats": ["never.pt"], "train": ["--out", "never.pt"]}  # take --device


@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_explains_itself(tool, capsys):
    with pytest.raises(SystemExit) as ended:
        TOOLS[tool](["--help"])
    assert ended.value.code == 0
    shown = capsys.readouterr().out
    assert "--data" in shown and cli.DATA_HELP.split(" (")[0] in shown
    assert ("--device" in shown) == (tool in COMPUTING)


@pytest.mark.parametrize("tool", COMPUTING)
def test_a_missing_device_ends_the_command_with_its_message(tool, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as ended:
        TOOLS[tool]([*COMPUTING[tool], "--device", "cuda"])
    assert ended.value.code == 2
    assert "device 'cuda' was asked for, but torch sees no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "never.pt").exists()


def test_the_parser_gives_a_torch_device_and_the_checkpoints():
    args = cli.parse(cli.parser("a tool"), ["a.pt", "b.pt", "--device", "cpu", "--data", "here"])
    assert args.checkpoints == ["a.pt", "b.pt"] and args.device == torch.device("cpu") and args.data == "here"
    bare = cli.parse(cli.parser("another", checkpoints=False, device=False), [])
    assert vars(bare) == {"data": None}
