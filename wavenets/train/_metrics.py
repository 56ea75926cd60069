"""Classification metrics from logits: accuracy, NLL and ROC-AUC."""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from .._extras import need

__all__ = ["classification_metrics", "multilabel_metrics"]


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """``loss`` (= NLL, mean cross-entropy), ``acc``, and ``auc`` (binary ROC-AUC, or macro
    one-vs-rest for several classes; NaN when a class is missing)."""
    roc_auc_score = need("sklearn.metrics", "train", "computing ROC-AUC").roc_auc_score

    logits = logits.float()
    nll = F.cross_entropy(logits, labels).item()
    acc = (logits.argmax(1) == labels).float().mean().item()
    prob = logits.softmax(1).numpy()
    y = labels.numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class missing from a small split: AUC is NaN
        try:
            if logits.shape[1] == 2:
                auc = roc_auc_score(y, prob[:, 1])
            else:
                auc = roc_auc_score(y, prob, multi_class="ovr", average="macro", labels=np.arange(logits.shape[1]))
        except ValueError:
            auc = math.nan
    return {"loss": nll, "nll": nll, "acc": acc, "auc": float(auc)}


def multilabel_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Tagging: ``loss`` (mean binary cross-entropy), ``acc`` (per-tag accuracy at 0.5), and
    macro ``auc`` (ROC-AUC) and ``pr_auc`` (average precision) over the tags that have both
    positive and negative examples."""
    metrics = need("sklearn.metrics", "train", "computing tagging metrics")
    average_precision_score, roc_auc_score = metrics.average_precision_score, metrics.roc_auc_score

    logits, labels = logits.float(), labels.float()
    bce = F.binary_cross_entropy_with_logits(logits, labels).item()
    acc = ((logits > 0).float() == labels).float().mean().item()
    prob, y = torch.sigmoid(logits).numpy(), labels.numpy()
    valid = [t for t in range(y.shape[1]) if 0 < y[:, t].sum() < len(y)]
    auc = float(np.mean([roc_auc_score(y[:, t], prob[:, t]) for t in valid])) if valid else math.nan
    ap = float(np.mean([average_precision_score(y[:, t], prob[:, t]) for t in valid])) if valid else math.nan
    return {"loss": bce, "nll": bce, "acc": acc, "auc": auc, "pr_auc": ap}
