"""A run killed with SIGKILL mid-training, then resumed: shared by the CPU and CUDA tests."""
import json
import subprocess
import sys
import time

import torch

from wavenets.train import Trainer


def killed_and_resumed(cfg: dict, tmp_path, device: str) -> tuple[dict, dict]:
    """Train ``cfg`` uninterrupted into ``tmp_path/full``; train it again in a subprocess that is
    killed with SIGKILL in its second epoch, and resume that run. Returns both final states."""
    Trainer(cfg, tmp_path / "full", device=torch.device(device), quiet=True).fit()
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    script = ("import json, sys, torch; from wavenets.train import Trainer; "
              "Trainer(json.load(open(sys.argv[1])), sys.argv[2], device=torch.device(sys.argv[3]), quiet=True).fit()")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "cfg.json"), str(tmp_path / "part"), device])
    deadline = time.time() + 300
    while not (tmp_path / "part" / "last.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # into the second epoch
    proc.kill()
    proc.wait()
    assert (tmp_path / "part" / "last.pt").exists(), "the run was killed before its first checkpoint"
    Trainer(cfg, tmp_path / "part", device=torch.device(device), quiet=True).fit(resume=True)
    load = lambda p: torch.load(p, map_location="cpu", weights_only=False)["model"]  # noqa: E731
    return load(tmp_path / "full" / "last.pt"), load(tmp_path / "part" / "last.pt")
