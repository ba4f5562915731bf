"""One GRU4Rec training step: forward with dropout, loss, backward by hand, optimizer update.

The step follows the official semantics: the score matrix has the mini-batch's targets and the
shared samples as columns with the positives on the diagonal, gradients cover this step only,
and the item tables are updated on the touched rows alone.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

from gru4rec_study.models.gru4rec import losses
from gru4rec_study.models.gru4rec.config import GRU4RecConfig
from gru4rec_study.models.gru4rec.network import GRU4RecNetwork, _LayerCache
from gru4rec_study.models.gru4rec.optimizer import IndexedAdagradM, coalesce_rows
from gru4rec_study.models.gru4rec.sampler import SampleCache


class TrainingStep:
    """Callable that trains ``network`` on one mini-batch and returns the summed loss."""

    def __init__(
        self,
        network: GRU4RecNetwork,
        config: GRU4RecConfig,
        item_counts: NDArray[np.int64],
        generator: torch.Generator,
    ) -> None:
        self.net = network
        self.config = config
        self.generator = generator
        device = network.device
        self.optimizer = IndexedAdagradM(
            network.dense_parameters(), network.tables, config.learning_rate, config.momentum
        )
        self.sampler = None
        if config.n_sample > 0:
            self.sampler = SampleCache(
                item_counts, config.sample_alpha, config.n_sample, config.sample_cache_size,
                generator, device,
            )
        counts = np.maximum(item_counts, 1).astype(np.float32)
        self.log_counts = torch.from_numpy(np.log(counts)).to(device)

    def _dropout_mask(self, like: torch.Tensor, p: float) -> torch.Tensor | None:
        if p <= 0.0:
            return None
        mask = torch.empty_like(like).bernoulli_(1.0 - p, generator=self.generator)
        return mask.div_(1.0 - p)

    def _loss(self, scores: torch.Tensor, targets: torch.Tensor, samples: torch.Tensor | None):
        cfg = self.config
        if cfg.loss == "bpr-max":
            return losses.bpr_max(scores, cfg.elu_param, cfg.bpreg)
        log_q = None
        if cfg.logq > 0:
            parts = [self.log_counts.index_select(0, targets)]
            if samples is not None:
                parts.append(self.log_counts.index_select(0, samples) * cfg.sample_alpha)
            log_q = torch.cat(parts).mul_(cfg.logq)
        return losses.cross_entropy(scores, log_q)

    def forward_backward(
        self, inputs: torch.Tensor, targets: torch.Tensor, state: list[torch.Tensor]
    ) -> tuple[torch.Tensor, dict]:
        """Run one step without updating; return the summed loss and every gradient.

        ``state`` is advanced in place (entry ``i`` replaced by layer ``i``'s dropped-out output).
        """
        net, cfg = self.net, self.config
        n = len(inputs)
        samples = self.sampler.next() if self.sampler is not None else None
        columns = torch.cat([targets, samples]) if samples is not None else targets

        # 1. Forward through the input lookup and the GRU layers, with dropout.
        x = net._input(inputs)
        embed_mask = self._dropout_mask(x, cfg.dropout_p_embed) if x is not None else None
        if embed_mask is not None:
            x = x * embed_mask
        caches = []
        for i in range(len(state)):
            h_new, r, z, c, gh_n = net._cell(i, x, inputs, state[i])
            mask = self._dropout_mask(h_new, cfg.dropout_p_hidden)
            out = h_new * mask if mask is not None else h_new
            caches.append(_LayerCache(x, state[i], r, z, c, gh_n, mask))
            state[i] = out
            x = out

        # 2. Scores against the targets and the shared samples; loss averaged over rows.
        wy_cols = net.tables["Wy"].index_select(0, columns)
        scores = torch.addmm(net.tables["By"].index_select(0, columns), x, wy_cols.T)
        loss, d_scores = self._loss(scores, targets, samples)
        d_scores.div_(n)

        # 3. Backward: output layer, then the GRU layers from the top.
        grads: dict = {"Wy_cols": d_scores.T @ x, "By_cols": d_scores.sum(dim=0)}
        d_x = d_scores @ wy_cols
        for i in reversed(range(len(caches))):
            d_x = self._layer_backward(i, caches[i], d_x, grads)
        if d_x is not None and embed_mask is not None:
            d_x = d_x * embed_mask
        grads["input_rows"] = d_x
        grads["columns"] = columns
        return loss, grads

    def _layer_backward(self, i: int, cache: _LayerCache, d_out: torch.Tensor, grads: dict):
        """Gradients of layer ``i``'s weights; returns the gradient of its input (or None)."""
        d_h = d_out * cache.mask if cache.mask is not None else d_out
        r, z, c = cache.r, cache.z, cache.c
        d_c = d_h * (1.0 - z)
        d_n = d_c * (1.0 - c * c)
        d_rz = torch.cat([d_n * cache.gh_n * r * (1.0 - r), d_h * (cache.h - c) * z * (1.0 - z)], 1)
        d_gi = torch.cat([d_rz, d_n], dim=1)
        d_gh = torch.cat([d_rz, d_n * r], dim=1)
        grads[f"w_hh.{i}"] = cache.h.T @ d_gh
        grads[f"b_hh.{i}"] = d_gh.sum(dim=0)
        grads[f"b_ih.{i}"] = d_gi.sum(dim=0)
        if cache.x is None:  # one-hot input: d_gi is the gradient of the Wx rows
            grads["Wx_rows"] = d_gi
            return None
        grads[f"w_ih.{i}"] = cache.x.T @ d_gi
        return d_gi @ self.net.w_ih[i].T

    def __call__(
        self, inputs: torch.Tensor, targets: torch.Tensor, state: list[torch.Tensor]
    ) -> torch.Tensor:
        """Train on one mini-batch; return the loss summed over its rows (0-dim tensor)."""
        loss, grads = self.forward_backward(inputs, targets, state)
        self.apply(inputs, grads)
        return loss

    def apply(self, inputs: torch.Tensor, grads: dict) -> None:
        """Update every parameter from the gradients of :meth:`forward_backward`."""
        net, opt = self.net, self.optimizer
        dense = []
        for i in range(len(net.config.layers)):
            if net.w_ih[i] is not None:
                dense.append(grads[f"w_ih.{i}"])
        n_layers = len(net.config.layers)
        for name in ("w_hh", "b_ih", "b_hh"):
            dense.extend(grads[f"{name}.{i}"] for i in range(n_layers))
        opt.step_dense(dense)

        columns = grads["columns"]
        if net.mode == "constrained":
            index = torch.cat([inputs, columns])
            rows_grad = torch.cat([grads["input_rows"], grads["Wy_cols"]])
        else:
            index, rows_grad = columns, grads["Wy_cols"]
        opt.step_rows("Wy", *coalesce_rows(index, rows_grad))
        opt.step_rows("By", *coalesce_rows(columns, grads["By_cols"]))
        if net.mode == "embedding":
            opt.step_rows("E", *coalesce_rows(inputs, grads["input_rows"]))
        elif net.mode == "onehot":
            opt.step_rows("Wx", *coalesce_rows(inputs, grads["Wx_rows"]))
