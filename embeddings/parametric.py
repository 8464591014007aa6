"""Parametric t-SNE (van der Maaten, 2009): a network that *is* the map.

openTSNE places a new work by running an optimiser against the fixed map
(hundreds of milliseconds, and a slightly different answer each time the
neighbourhood changes). A small MLP f(embedding) -> (x, y) trained on the t-SNE
objective places a work with one forward pass, deterministically, and never
moves the works already on the map; embeddings/placement.py refines that
start among the fitted works.

Training, chosen to scale to 10^5 works on two CPU cores:

1. *Regression warm start* onto the openTSNE coordinates (when given): the
   network learns the reference layout, so the parametric map stays close to the
   openTSNE map users already know. Besides the absolute error, part of each
   batch is kNN edges (i, j) drawn from P whose *offsets* y_i - y_j are
   regressed onto the reference offsets, scaled by the mean edge length. kNN
   recall depends on how neighbours sit relative to each other, not on where
   the neighbourhood is; absolute error alone spends almost all of its
   gradient on the global layout (n=2,700, 2,000 steps: recall@10 0.42 ->
   0.49 with the edge term; full budget 0.56 -> 0.61, openTSNE 0.63).
2. *KL fine-tuning* on the real t-SNE objective with the sparse kNN affinities
   P (perplexity-calibrated and symmetrised - openTSNE's own, reused when
   available). With q_ij = w_ij / Z, w_ij = 1 / (1 + |y_i - y_j|^2),
       KL(P||Q) = sum p log p  -  E_{ij~P}[log w_ij]  +  log Z,
   so each step samples a batch of edges (i, j) with probability p_ij for the
   attractive term and an independent uniform batch of works whose all-pairs
   mean similarity estimates Z = N(N-1) * mean(w). Cost per step is independent
   of N; unlike per-mini-batch P (the 2009 recipe), no neighbourhood is
   truncated by the batch, which is what keeps local structure (kNN recall).

The logged loss is this stochastic estimate of the full KL divergence, directly
comparable with openTSNE's ``kl_divergence``.

Inputs are centred and either standardised per feature or, with
``input_pcs``, projected onto their leading principal components (optionally
whitened); the projection is stored with the network (format 2), so placement
applies the very same transform.

Known limits (bench/map_quality.py, bench/map_scale.py): how finely the network
reproduces local neighbourhoods grows with gradient steps, so kNN recall lags
openTSNE on large maps; for unseen works the network's smooth interpolation
lands near, but less often among, the true neighbours than openTSNE's
per-point optimisation (held-out recall about 0.8x openTSNE's). Measured and
not adopted (no gain on held-out recall at equal cost): PCA inputs with or
without whitening, layer norm, weight decay, mixup along kNN edges, wider
layers, bigger batches, smoothed targets, a higher KL learning rate.
Trustworthiness and cluster separation stay close.

The held-out gap is generalisation, not precision or budget (n=5,000
synthetic, held-out recall@10; openTSNE ``transform`` 0.505, this network
0.384): three times the regression steps lift fitted recall to 0.604
(openTSNE 0.607) but leave held-out at 0.384; adding 4,500 or 13,500 unseen
works between kNN neighbours, placed by openTSNE's own ``transform``, as extra
regression rows gives 0.387 / 0.386; training on the single-work placement KL
of such works 0.386-0.395; even regressing onto ``transform``'s placements of
the held-out works themselves only reaches 0.408, while copying the nearest
fitted work's position scores 0.465. Where t-SNE folds a neighbourhood into
2-D, landing among the right ten neighbours needs precision at the scale of
the spacing between fitted works, which a smooth function of the embedding
does not have away from its training points; only a per-work optimisation
(``transform``, ~0.5 s per work) has it. So the platform places a new work by
this network's forward pass refined against the fixed fitted works
(embeddings/placement.py: 0.520 at 5 ms per work), and the network's map
stays the layout of the fitted works while it is within 5% of openTSNE's.

With a warm start the trained map is aligned back onto the openTSNE map
(rotation, scale, shift - no neighbourhood changes), so the openTSNE frame can
be passed as ``normalisation``.

Training defaults to one thread: batches are small, and on a shared 2-core
machine intra-op threads spend more time waiting for each other than working.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from embeddings.artefacts import IncompatibleArtefact, check_artefact
from embeddings.tsne import Normalisation

__all__ = [
    "ARTEFACT_KIND",
    "FORMAT_VERSION",
    "ParametricConfig",
    "ParametricTSNE",
    "MapNet",
    "knn_affinities",
]

ARTEFACT_KIND = "parametric_tsne"
FORMAT_VERSION = 2  # 2: inputs go through a stored projection (in_proj), not per-feature std


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
    n_threads: int = 1
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
    aff = PerplexityBasedNN(
        np.asarray(X, dtype=np.float64), perplexity=perplexity, n_jobs=n_jobs, random_state=seed
    )
    return aff.P.tocsr()


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _input_projection(X: np.ndarray, config: ParametricConfig) -> tuple[np.ndarray, np.ndarray]:
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


@dataclass
class ParametricTSNE:
    """A trained map network plus the frame its outputs are drawn in."""

    net: MapNet
    normalisation: Normalisation
    feature_version: str
    config: ParametricConfig = field(default_factory=ParametricConfig)
    loss_history: list[float] = field(default_factory=list)  # KL estimate per log window
    pretrain_history: list[float] = field(default_factory=list)  # standardised MSE
    fit_seconds: float = 0.0

    @property
    def input_dim(self) -> int:
        return int(self.net.in_mean.shape[0])

    # ------------------------------------------------------------------ training
    @classmethod
    def fit(
        cls,
        X: np.ndarray,
        *,
        feature_version: str,
        init_coords: np.ndarray | None = None,
        affinities: sp.spmatrix | None = None,
        normalisation: Normalisation | None = None,
        config: ParametricConfig | None = None,
    ) -> ParametricTSNE:
        """Train on works ``X`` (n x d, L2-normalised).

        ``init_coords``: raw openTSNE coordinates to warm-start from (recommended).
        ``affinities``: sparse P to reuse (``TSNEMap.affinities``); computed if absent.
        ``normalisation``: frame to draw in; by default the one that puts this
        network's own map of ``X`` exactly in [-1, 1]. Pass the openTSNE map's
        frame to mix openTSNE coordinates for fitted works with network
        placements for new ones.
        """
        config = config or ParametricConfig()
        started = time.perf_counter()
        X = np.ascontiguousarray(X, dtype=np.float32)
        n, d = X.shape
        if n < 10:
            raise ValueError("parametric t-SNE needs at least 10 works")
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)

        with _torch_threads(config.n_threads):
            if affinities is None:
                affinities = knn_affinities(
                    X, perplexity=config.perplexity, n_jobs=config.n_threads, seed=config.seed
                )
            P = sp.coo_matrix(affinities)
            if P.shape != (n, n):
                raise ValueError(f"affinities must be {n}x{n}, got {P.shape}")

            mean, proj = _input_projection(X, config)
            net = MapNet(d, config.hidden, projected_dim=proj.shape[1])
            Xt = torch.from_numpy(X)
            net.in_mean.copy_(torch.from_numpy(mean))
            net.in_proj.copy_(torch.from_numpy(proj))

            warm = init_coords is not None
            if warm:
                target = np.asarray(init_coords, dtype=np.float64)
                if target.shape != (n, 2):
                    raise ValueError(f"init_coords must be {n}x2, got {target.shape}")
            else:
                # No reference map: start from the top two principal components.
                centred = X - X.mean(axis=0)
                _, _, vt = np.linalg.svd(centred[rng.choice(n, min(n, 5000), replace=False)], full_matrices=False)
                target = centred @ vt[:2].T
                target = target / target.std() * max(1.0, math.sqrt(n) / 4.0)
            offset = target.mean(axis=0)
            scale = float(target.std()) or 1.0
            net.out_offset.copy_(torch.as_tensor(offset, dtype=torch.float32))
            net.out_scale.fill_(scale)

            edges = _EdgeSampler(P)
            std_target = torch.as_tensor((target - offset) / scale, dtype=torch.float32)
            pre_hist = _pretrain(net, Xt, std_target, edges, config, rng)
            kl_hist = _train_kl(net, Xt, edges, config, rng, exaggerate=not warm)
            if warm and kl_hist:
                _align_to_reference(net, Xt, target)

            net.eval()
            model = cls(
                net=net,
                normalisation=Normalisation(centre=(0.0, 0.0), scale=1.0),
                feature_version=feature_version,
                config=config,
                loss_history=kl_hist,
                pretrain_history=pre_hist,
            )
            model.normalisation = normalisation or Normalisation.fit(model.transform_raw(X))
        model.fit_seconds = time.perf_counter() - started
        return model

    # ------------------------------------------------------------------ placing
    def transform_raw(self, X: np.ndarray) -> np.ndarray:
        """Network output in t-SNE units (before the [-1, 1] frame)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        if X.shape[1] != self.input_dim:
            raise ValueError(f"expected {self.input_dim}-dimensional features, got {X.shape[1]}")
        self.net.eval()
        out = []
        # A handful of rows gains nothing from intra-op threads, and on a busy
        # machine their synchronisation costs ~100x the work (30 ms vs 0.3 ms
        # per placement measured on 2 shared cores).
        threads = 1 if X.shape[0] <= 2048 else torch.get_num_threads()
        with _torch_threads(threads), torch.inference_mode():
            for start in range(0, X.shape[0], 65536):
                out.append(self.net(torch.from_numpy(X[start : start + 65536])).numpy())
        return np.concatenate(out).astype(np.float64) if out else np.empty((0, 2))

    def transform(self, X: np.ndarray, *, clip: bool = True) -> np.ndarray:
        """The network's own placement in the map's [-1, 1] frame: one forward pass, no other work moves."""
        return self.normalisation.apply(self.transform_raw(X), clip=clip)

    # ------------------------------------------------------------------ storage
    def to_checkpoint(self) -> dict[str, Any]:
        """Plain, ``torch.load(weights_only=True)``-safe dict."""
        return {
            "kind": ARTEFACT_KIND,
            "format_version": FORMAT_VERSION,
            "feature_version": str(self.feature_version),
            "input_dim": self.input_dim,
            "architecture": {
                "hidden": [int(h) for h in self.config.hidden],
                "activation": "gelu",
                "projected_dim": int(self.net.in_proj.shape[1]),
            },
            "normalisation": self.normalisation.to_dict(),
            "config": self.config.to_dict(),
            "loss_history": [float(v) for v in self.loss_history],
            "pretrain_history": [float(v) for v in self.pretrain_history],
            "state_dict": {k: v.detach().clone() for k, v in self.net.state_dict().items()},
        }

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save(self.to_checkpoint(), buffer)
        return buffer.getvalue()

    @classmethod
    def from_checkpoint(
        cls, checkpoint: dict[str, Any], *, feature_version: str | None, input_dim: int | None = None
    ) -> ParametricTSNE:
        """Rebuild a trained map; refuses checkpoints made for other features or formats."""
        check_artefact(
            checkpoint,
            kind=ARTEFACT_KIND,
            format_version=FORMAT_VERSION,
            feature_version=feature_version,
            input_dim=input_dim,
        )
        try:
            hidden = [int(h) for h in checkpoint["architecture"]["hidden"]]
            config = ParametricConfig.from_dict(dict(checkpoint.get("config", {}), hidden=hidden))
            net = MapNet(
                int(checkpoint["input_dim"]), hidden,
                projected_dim=int(checkpoint["state_dict"]["in_proj"].shape[1]),
            )
            net.load_state_dict(checkpoint["state_dict"])
            normalisation = Normalisation.from_dict(checkpoint["normalisation"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise IncompatibleArtefact(f"malformed {ARTEFACT_KIND} checkpoint: {exc}") from exc
        net.eval()
        return cls(
            net=net,
            normalisation=normalisation,
            feature_version=str(checkpoint["feature_version"]),
            config=config,
            loss_history=list(checkpoint.get("loss_history", [])),
            pretrain_history=list(checkpoint.get("pretrain_history", [])),
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, feature_version: str | None, input_dim: int | None = None) -> ParametricTSNE:
        try:
            checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle/zip errors differ across torch versions
            raise IncompatibleArtefact(f"not a readable {ARTEFACT_KIND} checkpoint: {exc}") from exc
        return cls.from_checkpoint(checkpoint, feature_version=feature_version, input_dim=input_dim)


@torch.no_grad()
def _align_to_reference(net: MapNet, X: torch.Tensor, reference: np.ndarray) -> None:
    """Fold a rotation + uniform scale + shift into the output layer to match the reference.

    KL fine-tuning is blind to rotation and translation and keeps expanding a
    not-fully-converged openTSNE map (about 25% at default settings), which
    would push works out of the openTSNE frame. A similarity transform changes no
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


class _EdgeSampler:
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


def _pretrain(
    net: MapNet,
    X: torch.Tensor,
    target: torch.Tensor,
    edges: _EdgeSampler,
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


def _train_kl(
    net: MapNet,
    X: torch.Tensor,
    edges: _EdgeSampler,
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
