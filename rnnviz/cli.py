"""The command line every `python -m rnnviz.<tool>` shares: one parser skeleton with the flags the
tools have in common, and one way to end a command on a bad argument (a message, no traceback)."""

import argparse

from .device import DeviceMissing, resolve_device

DATA_HELP = "MNIST folder (default: $RNNVIZ_DATA, else the cache folder ~/.cache/rnnviz)"
DEVICE_HELP = ("where to compute: auto (a CUDA GPU if there is one, else the CPU), cpu, cuda or cuda:N; "
               "a device that is not there is an error")


def parser(description: str, checkpoints: bool = True, device: bool = True) -> argparse.ArgumentParser:
    """A tool's parser: the checkpoints it works on (if any), --data and --device (if it computes)."""
    made = argparse.ArgumentParser(description=description)
    if checkpoints:
        made.add_argument("checkpoints", nargs="+", help="checkpoint files (.pt)")
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
