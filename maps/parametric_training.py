"""The network behind parametric t-SNE and the steps that train it.

:class:`maps.parametric.ParametricTSNE` runs these steps in order (input
projection, regression warm start, KL fine-tuning, alignment) and stores the
result; they live apart so the model's storage and placement can be read
without the training loops. Why each step is as it is, with the figures:
docs/decisions/parametric-placement.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn


@dataclass(frozen=True)
class ParametricConfig:
    """Training budget and architecture.

    Budgets are in epochs (passes over the works, or over the P mass for the
    KL phase) but clamped to a step range: small maps still get enough gradient
    steps, large ones don't grow the build time without bound.
    """

    hidden: tuple[int, ...] = (256, 256, 256)
    pretrain_batch: int = 128  # small batches, many steps: precision is step-bound
    pretrain_epochs: float = 300.0
    pretrain_steps: tuple[int, int] = (4000, 10000)  # (min, max)
    kl_batch: int = 512  # P-edges per KL step
    negatives: int = 512  # uniform works per KL step; all their pairs estimate Z
    kl_epochs: float = 50.0
    kl_steps: tuple[int, int] = (500, 1000)
    pretrain_lr: float = 3e-3
    kl_lr: float = 1e-4
    input_pcs: int = 0  # project inputs onto this many principal components (0: standardise only)
    whiten: bool = False  # scale each principal component to unit variance
    local_weight: float = 0.1  # weight of the kNN-edge offset loss in the regression phase
    early_exaggeration: float = 4.0  # only when training without a warm start
    perplexity: float = 30.0  # only when affinities are not supplied
    log_every: int = 25
    n_threads: int = 1  # batches are small: on shared cores intra-op threads wait for each other more than they work
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParametricConfig:
        known = {f for f in cls.__dataclass_fields__}
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**kwargs)


class MapNet(nn.Module):
    """Standardise features -> MLP -> scale to t-SNE units.

    Feature standardisation and output scale live in buffers so a checkpoint is
    self-contained and the trainable layers work at unit scale whatever the
    size of the map (t-SNE coordinates grow with N).
    """

    in_mean: torch.Tensor
    in_proj: torch.Tensor
    out_offset: torch.Tensor
    out_scale: torch.Tensor

    def __init__(self, input_dim: int, hidden: Sequence[int], *, projected_dim: int | None = None) -> None:
        super().__init__()
        k = projected_dim or input_dim
        self.register_buffer("in_mean", torch.zeros(input_dim))
        self.register_buffer("in_proj", torch.eye(input_dim, k))
        self.register_buffer("out_offset", torch.zeros(2))
        self.register_buffer("out_scale", torch.ones(()))
        layers: list[nn.Module] = []
        width = k
        for h in hidden:
            layers += [nn.Linear(width, h), nn.GELU()]
            width = h
        layers.append(nn.Linear(width, 2))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.mlp((x - self.in_mean) @ self.in_proj)
        return z * self.out_scale + self.out_offset


def knn_affinities(X: np.ndarray, *, perplexity: float = 30.0, n_jobs: int = 2, seed: int = 0) -> sp.csr_matrix:
    """Symmetric perplexity-calibrated sparse P (sums to 1), via openTSNE."""
    from openTSNE.affinity import PerplexityBasedNN

    n = X.shape[0]
    perplexity = float(min(perplexity, max(1.0, (n - 1) / 3.0)))
    aff = PerplexityBasedNN(np.asarray(X, dtype=np.float64), perplexity=perplexity, n_jobs=n_jobs, random_state=seed)
    return aff.P.tocsr()


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def input_projection(X: np.ndarray, config: ParametricConfig) -> tuple[np.ndarray, np.ndarray]:
    """Centring and a linear projection that put the network's inputs at unit scale.

    Without ``input_pcs`` each feature is standardised. With it, inputs are
    projected onto their leading principal components (the standard t-SNE
    preprocessing): the trailing directions are mostly noise that the network
    would otherwise fit on the fitted works and be thrown by on new ones.
    """
    X64 = X.astype(np.float64)
    mean = X64.mean(axis=0)
    d = X.shape[1]
    if not config.input_pcs or config.input_pcs >= d and not config.whiten:
        std = X64.std(axis=0)
        std = np.maximum(std, max(1e-6, 1e-3 * float(std.max())))
        return mean.astype(np.float32), np.diag(1.0 / std).astype(np.float32)
    k = min(int(config.input_pcs), d)
    cov = np.zeros((d, d))
    for start in range(0, X.shape[0], 65536):
        block = X64[start : start + 65536] - mean
        cov += block.T @ block
    cov /= max(1, X.shape[0] - 1)
    eigval, eigvec = np.linalg.eigh(cov)
    eigval, eigvec = eigval[::-1][:k], eigvec[:, ::-1][:, :k]
    # a deterministic sign per component: largest loading positive
    signs = np.sign(eigvec[np.abs(eigvec).argmax(axis=0), np.arange(k)])
    eigvec = eigvec * np.where(signs == 0, 1.0, signs)
    eigval = np.maximum(eigval, max(1e-12, 1e-6 * float(eigval[0])))
    scale = np.sqrt(eigval) if config.whiten else np.full(k, math.sqrt(float(eigval.mean())))
    return mean.astype(np.float32), (eigvec / scale).astype(np.float32)


def _steps(epochs: float, per_epoch: float, bounds: Sequence[int]) -> int:
    lo, hi = bounds
    return int(min(hi, max(lo, math.ceil(epochs * per_epoch))))


def _cosine_lr(total: int) -> Any:
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(1, total)))


@torch.no_grad()
def align_to_reference(net: MapNet, X: torch.Tensor, reference: np.ndarray) -> None:
    """Fold a rotation + uniform scale + shift into the output layer to match the reference.

    KL fine-tuning is blind to rotation and translation and keeps expanding a
    not-fully-converged openTSNE map, which would push works out of the
    openTSNE frame. A similarity transform changes no
    neighbourhood, so quality is untouched while the network's map is drawn over
    the openTSNE one again.
    """
    net.eval()
    out = np.concatenate([net(X[i : i + 65536]).numpy() for i in range(0, X.shape[0], 65536)]).astype(np.float64)
    mu_o, mu_r = out.mean(axis=0), reference.mean(axis=0)
    a, b = out - mu_o, reference - mu_r
    u, sing, vt = np.linalg.svd(a.T @ b)
    flip = np.diag([1.0, float(np.sign(np.linalg.det(u @ vt)) or 1.0)])  # never mirror the map
    rot = u @ flip @ vt
    c = float((sing * np.diag(flip)).sum() / max((a * a).sum(), 1e-12))
    last = net.mlp[-1]
    assert isinstance(last, nn.Linear)
    r = torch.as_tensor(rot, dtype=torch.float32)
    # row vectors: y' = c (y - mu_o) R + mu_r with y = s (h W^T + b) + o
    last.weight.copy_(c * (r.T @ last.weight))
    last.bias.copy_(c * (last.bias @ r))
    offset = c * (net.out_offset.double().numpy() - mu_o) @ rot + mu_r
    net.out_offset.copy_(torch.as_tensor(offset, dtype=torch.float32))


class EdgeSampler:
    """Draws edges (i, j) of the kNN graph with probability p_ij."""

    def __init__(self, P: sp.coo_matrix) -> None:
        keep = P.data > 0
        if not keep.any():
            raise ValueError("affinities have no positive entries")
        p = P.data[keep].astype(np.float64)
        p = p / p.sum()
        self.entropy_term = float(np.sum(p * np.log(p)))  # sum p log p, a constant of KL
        self.cdf = np.cumsum(p)
        self.rows = P.row[keep].astype(np.int64)
        self.cols = P.col[keep].astype(np.int64)

    def __call__(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        u = rng.random(size) * self.cdf[-1]
        edges = np.minimum(np.searchsorted(self.cdf, u, side="right"), len(self.cdf) - 1)
        return self.rows[edges], self.cols[edges]


def pretrain(
    net: MapNet,
    X: torch.Tensor,
    target: torch.Tensor,
    edges: EdgeSampler,
    config: ParametricConfig,
    rng: np.random.Generator,
) -> list[float]:
    """Regress the (standardised) network output onto the reference layout.

    Small batches and many steps: how finely the network reproduces local
    neighbourhoods (kNN recall) is bound by the number of gradient steps far
    more than by batch size or width. A quarter of the batch's rows are the
    two ends of kNN edges whose offsets are matched too (``local_weight``).
    """
    n = X.shape[0]
    b = min(config.pretrain_batch, n)
    steps = _steps(config.pretrain_epochs, n / b, config.pretrain_steps)
    opt = torch.optim.Adam(net.mlp.parameters(), lr=config.pretrain_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _cosine_lr(steps))
    scale, offset = net.out_scale, net.out_offset
    n_edges = b // 4 if config.local_weight > 0 else 0
    if n_edges:
        h_all, t_all = edges.rows, edges.cols
        probe = rng.integers(0, len(h_all), size=min(len(h_all), 20000))
        edge_sq = float(((target[h_all[probe]] - target[t_all[probe]]) ** 2).sum(dim=1).mean())
    history: list[float] = []
    window: list[float] = []
    net.train()
    for step in range(steps):
        idx = rng.integers(0, n, size=b - 2 * n_edges)
        if n_edges:
            heads, tails = edges(rng, n_edges)
            idx = np.concatenate([idx, heads, tails])
        idx_t = torch.from_numpy(idx)
        xb, tb = X[idx_t], target[idx_t]
        pred = (net(xb) - offset) / scale
        loss = torch.mean((pred - tb) ** 2)
        if n_edges:
            m = b - 2 * n_edges
            dp = pred[m : m + n_edges] - pred[m + n_edges : m + 2 * n_edges]
            dt = tb[m : m + n_edges] - tb[m + n_edges : m + 2 * n_edges]
            err = ((dp - dt) ** 2).sum(dim=1)
            loss = loss + config.local_weight * err.mean() / edge_sq
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        window.append(loss.item())
        if len(window) == config.log_every or step == steps - 1:
            history.append(float(np.mean(window)))
            window = []
    return history


def train_kl(
    net: MapNet,
    X: torch.Tensor,
    edges: EdgeSampler,
    config: ParametricConfig,
    rng: np.random.Generator,
    *,
    exaggerate: bool,
) -> list[float]:
    """Minimise the sampled KL(P||Q); returns the KL estimate per log window."""
    n = X.shape[0]
    log_pairs = math.log(n) + math.log(n - 1)
    b = config.kl_batch
    n_neg = min(config.negatives, n)
    steps = _steps(config.kl_epochs, n / b, config.kl_steps)
    ex_steps = int(0.3 * steps) if exaggerate else 0
    opt = torch.optim.Adam(net.mlp.parameters(), lr=config.pretrain_lr if exaggerate else config.kl_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _cosine_lr(steps))
    history: list[float] = []
    window: list[float] = []
    net.train()
    for step in range(steps):
        heads, tails = edges(rng, b)
        negs = rng.choice(n, size=n_neg, replace=False) if n_neg < n else rng.permutation(n)
        y = net(X[torch.from_numpy(np.concatenate([heads, tails, negs]))])
        yh, yt, yn = y[:b], y[b : 2 * b], y[2 * b :]
        attract = torch.log1p(((yh - yt) ** 2).sum(dim=1)).mean()
        norms = (yn * yn).sum(dim=1)
        sq = (norms[:, None] + norms[None, :] - 2.0 * (yn @ yn.T)).clamp_min(0.0)
        # the diagonal contributes exactly w = 1 per point; drop it from the mean
        log_mean_w = torch.log(((1.0 / (1.0 + sq)).sum() - n_neg) / (n_neg * (n_neg - 1)))
        alpha = config.early_exaggeration if step < ex_steps else 1.0
        loss = alpha * attract + log_mean_w
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        window.append(edges.entropy_term + attract.item() + log_pairs + log_mean_w.item())
        if len(window) == config.log_every or step == steps - 1:
            history.append(float(np.mean(window)))
            window = []
    return history
