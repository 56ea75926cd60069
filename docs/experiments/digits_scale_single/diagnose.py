"""Why does the scale G-CNN trained at one scale fail between octaves? Run from the repository root after
`wavenets experiment digits_scale_single` (reads runs/sweeps/digits_zoom_scale_v2_ld_*, or the recipe named as the
first argument, e.g. digits_zoom_scale_iv2_ld: voices in the input). For each test zoom: the
accuracy of the network (max over all scale slots), the accuracy when the head reads only the slot that should
match the training scale (the oracle slot: the equivariance test), and which slot wins the max most often."""
import glob, json, math, sys
import torch
from wavenets.data import DigitsZoom, zoom, normalize
from wavenets.models import model_from_config
from wavenets.train import load_checkpoint

torch.set_grad_enabled(False)
ds = DigitsZoom("test")
x, y = ds.images.float() / 255, torch.from_numpy(ds.labels)
recipe = sys.argv[1] if len(sys.argv) > 1 else "digits_zoom_scale_v2_ld"
zooms = (0.5, 0.707, 1.0, 1.414, 2.0) if len(sys.argv) < 3 else tuple(float(z) for z in sys.argv[2].split(","))
for run in sorted(glob.glob(f"runs/sweeps/{recipe}_f1_s*")):
    cfg = json.load(open(run + "/config.json"))
    m = model_from_config(cfg["model"], in_channels=1, num_classes=10)
    m.load_state_dict(load_checkpoint(run + "/best.pt")["model"]); m.eval()
    voices = max(cfg["model"].get("voices", 1), cfg["model"].get("input_voices", 1))
    print(run.split("/")[-1])
    h1 = m.level_logits(normalize(zoom(x, 1.0, 33), ds.mean, ds.std))
    home = int(torch.bincount(h1.argmax(2).flatten()).argmax())  # the slot that wins most at 1x
    for z in zooms:
        h = m.level_logits(normalize(zoom(x, z, 33), ds.mean, ds.std))  # [B, C, slots]
        full = float((m.head(h.amax(2)).argmax(1) == y).float().mean())
        # slot s holds scale 2^(s/V): a digit magnified by z looks, to slot home + log2(z)·V, as the training digit
        # looks to slot home (the slot the trained network reads most at 1x)
        slot = home + round(math.log2(z) * voices)
        oracle = float((m.head(h[:, :, slot]).argmax(1) == y).float().mean()) if 0 <= slot < h.shape[2] else float("nan")
        wins = torch.bincount(h.argmax(2).flatten(), minlength=h.shape[2]) / h[:, :, 0].numel()
        print(f"  zoom {z:5.3f}: max over slots {full:.3f} | oracle slot {slot}: {oracle:.3f} | "
              f"winning slot shares {[round(float(w), 2) for w in wins]}")
