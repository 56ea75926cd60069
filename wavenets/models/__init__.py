"""Whole networks built from :mod:`wavenets.nn`; the group is the only thing that differs.

Every network a recipe can name is in one registry: ``get_model(name, **keys)``,
``list_models()``, ``model_keys(name)`` (its keys and their defaults); ``register_model(name)``
adds your own."""
from ._registry import (DATA_KEYS, REQUIRED, get_model, list_models, model_from_config, model_keys, register_model,
                        resolve_model_config)
from ._mnet import GLOBAL_POOLS, MNET_SPECS, READOUTS, WNET_SCALE_TAPS, WNET_WIDTHS, MNet, audio_group, wavelet_loss
from ._patch_pyramid import PyramidPatchNet, centre_readout, foveate, global_readout
from ._samplecnn import SampleCNN
from ._spec_cnn import SPEC_ARCHS, SPEC_POOLS, SpecCNN, matched_width
from ._se2 import BUDGET_WIDTHS, PRESETS, SE2Net, budget_width, count_parameters, make_group

__all__ = ["SE2Net", "PRESETS", "BUDGET_WIDTHS", "budget_width", "make_group", "count_parameters", "model_from_config",
           "MNet", "MNET_SPECS", "WNET_WIDTHS", "WNET_SCALE_TAPS", "wavelet_loss", "SampleCNN", "READOUTS",
           "GLOBAL_POOLS", "PyramidPatchNet", "centre_readout", "global_readout", "foveate", "SpecCNN", "SPEC_ARCHS",
           "SPEC_POOLS", "matched_width", "audio_group", "register_model", "get_model", "list_models", "model_keys",
           "resolve_model_config", "REQUIRED", "DATA_KEYS"]
