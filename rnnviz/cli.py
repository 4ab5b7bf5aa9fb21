"""The command line every `python -m rnnviz.<tool>` shares: one parser skeleton with the flags the
tools have in common, and one way to end a command on a bad argument (a message, no traceback)."""

import argparse
import importlib
import sys

from .device import DeviceMissing, resolve_device

COMMANDS = {  # `rnnviz COMMAND`: the module whose main() runs it
    "train": "rnnviz.train", "evaluate": "rnnviz.evaluate", "convert": "rnnviz.checkpoint",
    "stats": "rnnviz.stats", "memory": "rnnviz.memory", "neighbours": "rnnviz.neighbours",
}
DATA_HELP = "MNIST folder (default: $RNNVIZ_DATA, else the cache folder ~/.cache/rnnviz)"
DEVICE_HELP = ("where to compute: auto (a CUDA GPU if there is one, else the CPU), cpu, cuda or cuda:N; "
               "a device that is not there is an error")


def parser(description: str, checkpoints: bool = True, data: bool = True,
           device: bool = True) -> argparse.ArgumentParser:
    """A tool's parser: the checkpoints it works on (if any), --data (if it reads MNIST) and --device (if it
    computes)."""
    made = argparse.ArgumentParser(description=description)
    if checkpoints:
        made.add_argument("checkpoints", nargs="+", help="checkpoint files (.safetensors)")
    if data:
        made.add_argument("--data", help=DATA_HELP)
    if device:
        made.add_argument("--device", default="auto", help=DEVICE_HELP)
    return made


def parse(made: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """The parsed arguments, with `device` resolved to a torch.device: a device that is not there
    ends the command with its message."""
    args = made.parse_args(argv)
    if "device" in args:
        try:
            args.device = resolve_device(args.device)
        except DeviceMissing as error:
            made.error(str(error))
    return args


def main(argv=None):
    """The `rnnviz` command: `rnnviz COMMAND --help` for each command's own flags."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: rnnviz {{{','.join(COMMANDS)}}} ...  (rnnviz COMMAND --help for more)", file=sys.stderr)
        raise SystemExit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    sys.argv[0] = f"rnnviz {argv[0]}"  # what argparse names in usage lines
    importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
