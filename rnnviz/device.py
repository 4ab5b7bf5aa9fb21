"""Which device computes: `--device auto|cpu|cuda` for training, evaluation and statistics.

"auto" takes a CUDA GPU when torch sees one, else the CPU. Naming a device that is not there is
an error that says so, rather than a silent fall-back to a much slower one.
"""

import argparse

import torch

DEVICES = ("auto", "cpu", "cuda")


class DeviceMissing(RuntimeError):
    """The device asked for is not available on this machine."""


def resolve_device(name: str = "auto") -> torch.device:
    """The torch.device for `name` (one of DEVICES, or e.g. "cuda:1"); DeviceMissing if it is absent."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise DeviceMissing(f"unknown device {name!r}: use one of {', '.join(DEVICES)}") from error
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceMissing(f"device {name!r} was asked for, but torch sees no CUDA GPU on this machine "
                                f"(torch {torch.__version__}); use --device cpu or auto")
        if device.index is not None and device.index >= count:
            raise DeviceMissing(f"device {name!r} was asked for, but torch sees only {count} CUDA GPU(s)")
    elif device.type != "cpu":
        raise DeviceMissing(f"device {name!r} is not supported: use one of {', '.join(DEVICES)}")
    return device


def add_device_flag(parser: argparse.ArgumentParser) -> None:
    """The one --device flag every CLI shares."""
    parser.add_argument("--device", default="auto",
                        help="where to compute: auto (a CUDA GPU if there is one, else the CPU), cpu, cuda or "
                             "cuda:N; a device that is not there is an error")


def device_from_args(parser: argparse.ArgumentParser, name: str) -> torch.device:
    """resolve_device for a CLI: an absent device ends the command with its message (no traceback)."""
    try:
        return resolve_device(name)
    except DeviceMissing as error:
        parser.error(str(error))
