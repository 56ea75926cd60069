"""Whole networks built from :mod:`wavenets.nn`; the group is the only thing that differs."""
from ._mnet import GLOBAL_POOLS, MNET_SPECS, READOUTS, WNET_SCALE_TAPS, WNET_WIDTHS, MNet, wavelet_loss
from ._patch_pyramid import PyramidPatchNet, centre_readout, foveate, global_readout
from ._registry import model_from_config
from ._samplecnn import SampleCNN
from ._spec_cnn import SPEC_ARCHS, SPEC_POOLS, SpecCNN, matched_width
from ._se2 import BUDGET_WIDTHS, PRESETS, SE2Net, budget_width, count_parameters, make_group

__all__ = ["SE2Net", "PRESETS", "BUDGET_WIDTHS", "budget_width", "make_group", "count_parameters", "model_from_config", "MNet", "MNET_SPECS",
           "WNET_WIDTHS", "WNET_SCALE_TAPS", "wavelet_loss", "SampleCNN", "READOUTS", "GLOBAL_POOLS",
           "PyramidPatchNet", "centre_readout", "global_readout", "foveate", "SpecCNN", "SPEC_ARCHS", "SPEC_POOLS",
           "matched_width"]
