"""Parametric t-SNE (van der Maaten, 2009): a network that *is* the map.

A small MLP f(embedding) -> (x, y) trained on the t-SNE objective places a new
work with one forward pass, deterministically, and never moves the works
already on the map; maps/placement.py refines that start among the
fitted works. Training has two phases, both with a cost per step independent
of the number of works so that builds scale to 10^5 works on two CPU cores:

1. a regression warm start onto the openTSNE coordinates (when given), so the
   parametric map stays close to the openTSNE map users already know; part of
   each batch regresses the offsets along kNN edges, because kNN recall depends
   on how neighbours sit relative to each other, not on where they are;
2. KL fine-tuning on the real t-SNE objective with the sparse kNN affinities P.
   With q_ij = w_ij / Z, w_ij = 1 / (1 + |y_i - y_j|^2),
       KL(P||Q) = sum p log p  -  E_{ij~P}[log w_ij]  +  log Z,
   so each step samples edges (i, j) with probability p_ij for the attractive
   term and an independent uniform batch of works whose all-pairs mean
   similarity estimates Z = N(N-1) * mean(w). No neighbourhood is truncated by
   the batch, which is what keeps local structure.

The logged loss is this stochastic estimate of the full KL divergence, directly
comparable with openTSNE's ``kl_divergence``. Inputs go through a projection
stored with the network (format 2), so placement applies the very same
transform. With a warm start the trained map is aligned back onto the openTSNE
map (rotation, scale, shift: no neighbourhood changes), so the openTSNE frame
can be passed as ``normalisation``.

The measurements behind these choices, the known limits and what was tried
instead are in docs/decisions/parametric-placement.md.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from maps.artefacts import IncompatibleArtefact, check_artefact
from maps.parametric_training import (
    EdgeSampler,
    MapNet,
    ParametricConfig,
    align_to_reference,
    input_projection,
    knn_affinities,
    pretrain,
    torch_threads,
    train_kl,
)
from maps.tsne import Normalisation

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

        with torch_threads(config.n_threads):
            if affinities is None:
                affinities = knn_affinities(X, perplexity=config.perplexity, n_jobs=config.n_threads, seed=config.seed)
            P = sp.coo_matrix(affinities)
            if P.shape != (n, n):
                raise ValueError(f"affinities must be {n}x{n}, got {P.shape}")

            mean, proj = input_projection(X, config)
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

            edges = EdgeSampler(P)
            std_target = torch.as_tensor((target - offset) / scale, dtype=torch.float32)
            pre_hist = pretrain(net, Xt, std_target, edges, config, rng)
            kl_hist = train_kl(net, Xt, edges, config, rng, exaggerate=not warm)
            if warm and kl_hist:
                align_to_reference(net, Xt, target)

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
        # machine their synchronisation costs about 100x the work.
        threads = 1 if X.shape[0] <= 2048 else torch.get_num_threads()
        with torch_threads(threads), torch.inference_mode():
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
                int(checkpoint["input_dim"]),
                hidden,
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
