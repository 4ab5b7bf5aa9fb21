"""Where torch computes: how its CPU threads wait (set before torch loads, which is why the package
imports this module first) and which device `--device auto|cpu|cuda` names.

torch's CPU threads are OpenMP (libgomp) threads, which by default spin for a while after each
parallel region, waiting for the next one. A recurrent step is hundreds of small regions per batch.
On an idle machine that spinning is what makes 2 threads fast; while another process is busy it
holds cores that process needs, and the team waits on a descheduled member. A bare LSTM loop, 2
threads on a 2-core machine, samples/s (`python -m bench.train_throughput --run bare`):

    OpenMP wait                      idle machine    one other busy process    three
    spin (libgomp's default)         9,958-10,387    2,598-3,249               597
    short spin (GOMP_SPINCOUNT=1000) 9,438-9,677     3,551-3,881               1,735
    passive (OMP_WAIT_POLICY)        4,836-5,502     4,389-5,033               2,333

A short spin keeps 94% of the idle machine's speed (RNN: 80%) and avoids the collapse under load.
Re-measured with 12,800 images (GOMP_SPINCOUNT=N python -m bench.train_throughput --run bare --cell
lstm --threads 2, beside `python -c "while True: pass"` for the busy column): idle, 1,000 gave
8,225-9,501 and libgomp's 300,000 8,889-10,794; one busy process, 3,838 against 2,431, and the spins
between were worse than either (10,000: 1,522; 30,000: 762; 100,000: 398).
The app's processes use 1 thread (no team, no waiting). OMP_WAIT_POLICY or GOMP_SPINCOUNT in the
environment win. libgomp reads them once, when torch loads: a script that imports torch before
rnnviz keeps libgomp's default spin (bench/train_throughput.py sets its children's environment).

"auto" takes a CUDA GPU when torch sees one, else the CPU. Naming a device that is not there is
an error that says so, rather than a silent fall-back to a much slower one.
"""

import os

SHORT_SPIN = "1000"  # GOMP_SPINCOUNT: spin-loop iterations before a waiting thread sleeps (default 300,000)
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", SHORT_SPIN)

import torch  # noqa: E402  after the wait policy: libgomp reads it when torch loads

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
