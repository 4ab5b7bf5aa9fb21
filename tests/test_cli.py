"""The command line every tool shares: its flags, --help for every tool, and a missing device or a bad
argument ending the command with a message, never a traceback or a half-written file."""

import tomllib

import pytest
import torch

from rnnviz import cli, evaluate, memory, neighbours, stats, train
from rnnviz.data import gallery
from tests.conftest import ROOT

TOOLS = {"evaluate": evaluate.main, "stats": stats.main, "memory": memory.main, "neighbours": neighbours.main,
         "train": train.main, "gallery": gallery.main}
COMPUTING = {"evaluate": ["never.safetensors"], "stats": ["never.safetensors"],
             "train": ["--out", "never.safetensors"]}  # take --device


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
    assert not (tmp_path / "never.safetensors").exists()


def test_the_parser_gives_a_torch_device_and_the_checkpoints():
    args = cli.parse(cli.parser("a tool"), ["a.safetensors", "b.safetensors", "--device", "cpu", "--data", "here"])
    assert args.checkpoints == ["a.safetensors", "b.safetensors"]
    assert args.device == torch.device("cpu") and args.data == "here"
    bare = cli.parse(cli.parser("another", checkpoints=False, device=False), [])
    assert vars(bare) == {"data": None}


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_the_rnnviz_command_runs_each_tool(command, capsys):
    """`rnnviz COMMAND` (the console script pyproject.toml declares) is the tool's own main."""
    with pytest.raises(SystemExit) as ended:
        cli.main([command, "--help"])
    assert ended.value.code == 0 and f"usage: rnnviz {command}" in capsys.readouterr().out


def test_the_rnnviz_command_names_its_commands_when_given_none(capsys):
    with pytest.raises(SystemExit) as ended:
        cli.main(["unknown"])
    said = capsys.readouterr().err
    assert ended.value.code == 2 and all(command in said for command in cli.COMMANDS)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"rnnviz": "rnnviz.cli:main"}
