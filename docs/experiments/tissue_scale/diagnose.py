"""Why does the scale G-CNN lose accuracy at 0.5x? Run from the repository root after `wavenets experiment tissue_scale`
(reads runs/sweeps/tissue_zoom_*): zoom(0.5) vs the pyramid's own contraction, zoom out and back in (lost detail),
and which scale wins the max over scales per channel."""
import json, sys, glob
import torch
from wavenets.data import TissueZoom, zoom, normalize
from wavenets.models import model_from_config
from wavenets.nn import pyramid_reduce
from wavenets.train import load_checkpoint

torch.set_grad_enabled(False)
ds = TissueZoom("test")
x = ds.images.float() / 255
y = torch.from_numpy(ds.labels)
for run in sorted(glob.glob("runs/sweeps/tissue_zoom_*_f1_s*")):
    cfg = json.load(open(run + "/config.json"))
    m = model_from_config(cfg["model"], in_channels=3, num_classes=2)
    m.load_state_dict(load_checkpoint(run + "/best.pt")["model"]); m.eval()
    def acc(inp):
        return float((m(normalize(inp, ds.mean, ds.std)).argmax(1) == y).float().mean())
    one = zoom(x, 1.0, 33)
    half_zoom = zoom(x, 0.5, 33)
    half_pyr = pyramid_reduce(x[..., 1:66, 1:66], 2)  # the pyramid's own contraction of the central 65 px
    two_zoom = zoom(x, 2.0, 33)
    # information test: zoom out then back in (what is lost at 0.5x), evaluated at 1x
    back = zoom(torch.nn.functional.pad(half_zoom, (16, 16, 16, 16), mode="reflect"), 2.0, 33)
    row = {"1x": acc(one), "0.5 zoom": acc(half_zoom), "0.5 pyramid": acc(half_pyr), "2x": acc(two_zoom),
           "0.5 then 2x (1x input, fine detail removed)": acc(back)}
    if cfg["model"].get("scales", 1) > 1:
        lv = m.level_logits(normalize(one, ds.mean, ds.std))
        win = lv.argmax(2)  # which scale wins the max, per channel
        row["winning scale share at 1x"] = [round(float((win == j).float().mean()), 3) for j in range(lv.shape[2])]
        lv2 = m.level_logits(normalize(half_pyr, ds.mean, ds.std))
        row["winning scale share at 0.5 (pyramid)"] = [round(float((lv2.argmax(2) == j).float().mean()), 3) for j in range(lv2.shape[2])]
    print(run.split("/")[-1], {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
