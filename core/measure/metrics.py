"""Segmentation metrics computed inside the field of view only.

Threshold-free scores (ROC AUC, PR AUC) and the threshold sweep use a fine histogram of
probabilities, so pooling over many images needs only O(bins) memory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BINS = 10_000


@dataclass(frozen=True)
class Scores:
    """Scores of a binary vessel mask against a reference, inside the FOV."""

    f1: float
    iou: float
    accuracy: float
    sensitivity: float
    specificity: float
    precision: float
    roc_auc: float = float("nan")
    pr_auc: float = float("nan")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def confusion(pred: np.ndarray, truth: np.ndarray, fov: np.ndarray | None = None) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of boolean masks, counted inside ``fov``."""
    pred = np.asarray(pred, bool)
    truth = np.asarray(truth, bool)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and reference {truth.shape} differ in size")
    if fov is not None:
        fov = np.asarray(fov, bool)
        pred, truth = pred[fov], truth[fov]
    tp = int(np.count_nonzero(pred & truth))
    fp = int(np.count_nonzero(pred & ~truth))
    fn = int(np.count_nonzero(~pred & truth))
    tn = int(pred.size - tp - fp - fn)
    return tp, fp, fn, tn


def scores_from_confusion(tp: int, fp: int, fn: int, tn: int) -> Scores:
    return Scores(
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        iou=_ratio(tp, tp + fp + fn),
        accuracy=_ratio(tp + tn, tp + fp + fn + tn),
        sensitivity=_ratio(tp, tp + fn),
        specificity=_ratio(tn, tn + fp),
        precision=_ratio(tp, tp + fp),
    )


def mask_scores(pred: np.ndarray, truth: np.ndarray, fov: np.ndarray | None = None) -> Scores:
    """Scores of a binary mask (F1 = Dice) inside the FOV."""
    return scores_from_confusion(*confusion(pred, truth, fov))


def roc_auc(prob: np.ndarray, truth: np.ndarray) -> float:
    """Exact ROC AUC (Mann-Whitney U, ties count one half)."""
    prob = np.asarray(prob, np.float64).ravel()
    truth = np.asarray(truth, bool).ravel()
    n_pos = int(truth.sum())
    n_neg = truth.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(prob, kind="mergesort")
    sorted_prob = prob[order]
    ranks = np.empty(prob.size, np.float64)
    # average ranks over ties
    _, first, counts = np.unique(sorted_prob, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(prob: np.ndarray, truth: np.ndarray) -> float:
    """PR AUC as average precision (step-wise, ties grouped)."""
    prob = np.asarray(prob, np.float64).ravel()
    truth = np.asarray(truth, bool).ravel()
    n_pos = int(truth.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-prob, kind="mergesort")
    p, t = prob[order], truth[order]
    tp = np.cumsum(t)
    fp = np.cumsum(~t)
    last = np.r_[np.nonzero(np.diff(p))[0], p.size - 1]  # last index of each tie group
    tp, fp = tp[last], fp[last]
    precision = tp / (tp + fp)
    recall_step = np.diff(np.r_[0, tp]) / n_pos
    return float(np.sum(precision * recall_step))


class Accumulator:
    """Pools probability histograms of vessel and background pixels over many images."""

    def __init__(self, bins: int = BINS) -> None:
        self.bins = bins
        self.pos = np.zeros(bins, np.int64)
        self.neg = np.zeros(bins, np.int64)
        self._edges = (np.arange(bins, dtype=np.float64) / bins).astype(np.float32)

    def add(self, prob: np.ndarray, truth: np.ndarray, fov: np.ndarray | None = None) -> None:
        prob = np.asarray(prob, np.float32)
        truth = np.asarray(truth, bool)
        if prob.shape != truth.shape:
            raise ValueError(f"probability {prob.shape} and reference {truth.shape} differ in size")
        if fov is not None:
            fov = np.asarray(fov, bool)
            prob, truth = prob[fov], truth[fov]
        # Bin k holds float32(k / bins) <= p < float32((k + 1) / bins), so "bin >= k" is exactly
        # "prob >= threshold" as numpy compares a float32 map with k / bins. (prob * bins in
        # float32 rounds: p just below a threshold could land in the bin above, or p equal to it below.)
        idx = np.searchsorted(self._edges, prob.ravel(), side="right") - 1
        idx = np.clip(idx, 0, self.bins - 1)
        truth = truth.ravel()
        self.pos += np.bincount(idx[truth], minlength=self.bins)
        self.neg += np.bincount(idx[~truth], minlength=self.bins)

    def _counts_at(self) -> tuple[np.ndarray, np.ndarray]:
        """tp[k], fp[k] when predicting vessel for bins >= k (threshold k / bins)."""
        tp = np.cumsum(self.pos[::-1])[::-1]
        fp = np.cumsum(self.neg[::-1])[::-1]
        return tp, fp

    def scores(self, threshold: float) -> Scores:
        """Pooled scores at ``threshold`` (vessel where probability >= threshold), with AUCs."""
        tp_all, fp_all = self._counts_at()
        k = int(np.clip(np.ceil(threshold * self.bins - 1e-9), 0, self.bins))
        n_pos, n_neg = int(self.pos.sum()), int(self.neg.sum())
        tp = int(tp_all[k]) if k < self.bins else 0
        fp = int(fp_all[k]) if k < self.bins else 0
        base = scores_from_confusion(tp, fp, n_pos - tp, n_neg - fp)
        return Scores(**{**base.as_dict(), "roc_auc": self.roc_auc(), "pr_auc": self.pr_auc()})

    def best_threshold(self) -> tuple[float, float]:
        """(threshold, F1) maximising pooled F1."""
        tp, fp = self._counts_at()
        n_pos = self.pos.sum()
        f1 = np.where(tp > 0, 2 * tp / np.maximum(tp + fp + n_pos, 1), 0.0)
        k = int(np.argmax(f1))
        return k / self.bins, float(f1[k])

    def roc_auc(self) -> float:
        n_pos, n_neg = self.pos.sum(), self.neg.sum()
        if not n_pos or not n_neg:
            return float("nan")
        neg_below = np.cumsum(self.neg) - self.neg
        return float((self.pos * (neg_below + 0.5 * self.neg)).sum() / (n_pos * n_neg))

    def pr_auc(self) -> float:
        n_pos = self.pos.sum()
        if not n_pos:
            return float("nan")
        tp, fp = self._counts_at()
        nz = self.pos > 0
        precision = tp / np.maximum(tp + fp, 1)
        return float((precision[nz] * self.pos[nz]).sum() / n_pos)
