"""Launched by test_ddp.py under torchrun: trains a tiny recipe, saves this rank's weights."""
import json
import os
import sys
from pathlib import Path

import torch

from wavenets.train import Trainer

cfg, run_dir = json.loads(sys.argv[1]), Path(sys.argv[2])
trainer = Trainer(cfg, run_dir, device=torch.device("cpu"), quiet=True)
trainer.fit()
model = getattr(trainer.model, "module", trainer.model)
torch.save(model.state_dict(), run_dir / f"rank{os.environ['RANK']}.pt")
