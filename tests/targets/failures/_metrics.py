"""Metrics helpers written for NumPy and reused inside jitted code."""

import numpy as np


def accuracy(logits, labels):
    preds = np.asarray(logits).argmax(-1)
    return float((preds == np.asarray(labels)).mean())


def top_k_mask(scores, k):
    order = np.argsort(np.asarray(scores))
    return order[-k:]
