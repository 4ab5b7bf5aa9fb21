"""Where torch computes: the OpenMP wait set before torch loads, and --device naming what is there."""

import os
import subprocess
import sys

import pytest
import torch

from rnnviz.device import SHORT_SPIN, DeviceMissing, resolve_device
from tests.conftest import ROOT


@pytest.mark.slow
def test_importing_rnnviz_sets_the_short_spin_before_torch_loads_unless_the_user_chose():
    def spin(**chosen: str) -> str:
        """GOMP_SPINCOUNT in a fresh interpreter that imported rnnviz, with the user's choice `chosen`."""
        code = "import os, rnnviz, torch; print(os.environ.get('GOMP_SPINCOUNT'))"
        env = {key: value for key, value in os.environ.items() if key not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
        return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, **chosen}, capture_output=True,
                              text=True, check=True).stdout.strip()

    assert spin() == SHORT_SPIN
    assert spin(OMP_WAIT_POLICY="passive") == "None" and spin(GOMP_SPINCOUNT="5") == "5"  # the user's choice wins


def test_auto_is_the_cpu_without_a_gpu_and_a_missing_device_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on this machine, also on a GPU box
    assert resolve_device("auto") == torch.device("cpu") == resolve_device("cpu")
    with pytest.raises(DeviceMissing, match="'cuda'.*no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(DeviceMissing, match="'tpu'"):
        resolve_device("tpu")
    with pytest.raises(DeviceMissing, match="not supported"):
        resolve_device("meta")


def test_a_gpu_index_beyond_the_gpus_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(DeviceMissing, match="only 1 CUDA GPU"):
        resolve_device("cuda:1")
