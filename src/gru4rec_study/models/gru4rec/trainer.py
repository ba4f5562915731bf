"""One GRU4Rec training step: forward with dropout, loss, backward by hand, optimizer update.

The step follows the official semantics: the score matrix has the mini-batch's targets and the
shared samples as columns with the positives on the diagonal, gradients cover this step only,
and the item tables are updated on the touched rows alone.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

from gru4rec_study.models.gru4rec import fused_losses, kernels, losses
from gru4rec_study.models.gru4rec.config import GRU4RecConfig
from gru4rec_study.models.gru4rec.network import GRU4RecNetwork, _LayerCache
from gru4rec_study.models.gru4rec.optimizer import IndexedAdagradM, coalesce_rows, unique_rows
from gru4rec_study.models.gru4rec.sampler import SampleCache


class TrainingStep:
    """Callable that trains ``network`` on one mini-batch and returns the summed loss."""

    def __init__(
        self,
        network: GRU4RecNetwork,
        config: GRU4RecConfig,
        item_counts: NDArray[np.int64],
        generator: torch.Generator,
        fused: bool | None = None,
    ) -> None:
        """``fused``: update with the fused CPU loops of :mod:`.kernels` (None: when they apply)."""
        self.net = network
        self.config = config
        self.generator = generator
        device = network.device
        self.optimizer = IndexedAdagradM(
            network.dense, network.tables, config.learning_rate, config.momentum, fused
        )
        self.fused = self.optimizer.fused
        # Dropout masks on the CPU come from numpy's PCG64, seeded from ``generator``.
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
        self._masks = kernels.DropoutMasks(np.random.PCG64(seed))
        self._unique = kernels.UniqueItems(network.n_items) if self.fused else None
        self.sampler = None
        if config.n_sample > 0:
            self.sampler = SampleCache(
                item_counts,
                config.sample_alpha,
                config.n_sample,
                config.sample_cache_size,
                generator,
                device,
            )
        # The gradient buffer of the dense parameters, reused by every step.
        self._dense_grad = torch.empty_like(network.dense)
        self._dense_grad_views = network.dense_views(self._dense_grad)
        counts = np.maximum(item_counts, 1).astype(np.float32)
        self.log_counts = torch.from_numpy(np.log(counts)).to(device)

    def _dropout_mask(self, like: torch.Tensor, p: float, site: object) -> torch.Tensor | None:
        """Inverted dropout: 1 / (1 - p) with probability 1 - p, else 0.

        On the CPU the mask lives in ``site``'s buffer, valid until that site's next step.
        """
        if p <= 0.0:
            return None
        if like.device.type == "cpu":
            return self._masks(site, tuple(like.shape), p)
        draws = torch.rand(like.shape, generator=self.generator, device=like.device)
        return draws.ge_(p).mul_(1.0 / (1.0 - p))  # in place: 1.0 where kept, else 0.0

    def _loss(self, scores: torch.Tensor, targets, samples, col_inverse: torch.Tensor, counts):
        """Loss and gradient on the unique items' scores (n, U) of the step.

        ``col_inverse[c]`` is the unique item of column ``c`` of the official (n, n + n_sample)
        layout, and ``counts`` the number of columns of every unique item; the legacy
        losses are computed on that layout, the others merged.
        """
        cfg = self.config
        n, n_unique = scores.shape
        if cfg.loss in losses.LEGACY_LOSSES:
            full = scores.index_select(1, col_inverse)
            loss, d_full = losses.LEGACY_LOSSES[cfg.loss](full, cfg.elu_param)
            d_scores = torch.zeros_like(scores).index_add_(1, col_inverse, d_full)
            return loss, d_scores
        columns = losses.Columns(n, col_inverse, n_unique, counts)
        functions = fused_losses if self.fused else losses  # fused: float32 CPU scores
        if cfg.loss == "bpr-max":
            return functions.bpr_max(scores, cfg.elu_param, cfg.bpreg, columns)
        log_q = None
        if cfg.logq > 0:
            parts = [self.log_counts.index_select(0, targets)]
            if samples is not None:
                parts.append(self.log_counts.index_select(0, samples) * cfg.sample_alpha)
            log_q = torch.cat(parts).mul_(cfg.logq)
        return functions.cross_entropy(scores, log_q, columns)

    def forward_backward(
        self, inputs: torch.Tensor, targets: torch.Tensor, state: list[torch.Tensor]
    ) -> tuple[torch.Tensor, dict]:
        """Run one step without updating; return the summed loss and every gradient.

        The dense gradient lives in a buffer that the next call overwrites.

        ``state`` is advanced in place (entry ``i`` replaced by layer ``i``'s dropped-out output).
        The output layer works on the unique items of the step: the scores are computed
        against them once, and the loss weights each by how often it stands in the official
        (n, n + n_sample) layout, so that the gradients of repeated items arrive summed.
        """
        net, cfg = self.net, self.config
        n = len(inputs)
        samples = self.sampler.next() if self.sampler is not None else None
        columns = torch.cat([targets, samples]) if samples is not None else targets

        # 1. The unique items of the step (with the inputs when they share Wy).
        shared = net.mode == "constrained"
        index = torch.cat([inputs, columns]) if shared else columns
        if self._unique is not None:
            rows, inverse, counts = self._unique(index, n if shared else 0)
        else:
            rows, inverse = unique_rows(index, net.n_items)
            counts = torch.bincount(inverse[n:] if shared else inverse, minlength=len(rows))
            counts = counts.float()
        col_inverse = inverse[n:] if shared else inverse
        out_rows = net.tables["output"].index_select(0, rows)  # (U, H + 1): [Wy | By]
        wy_rows = out_rows[:, :-1]

        # 2. Forward through the input lookup and the GRU layers, with dropout.
        x = wy_rows.index_select(0, inverse[:n]) if shared else net._input(inputs)
        embed_mask = self._dropout_mask(x, cfg.dropout_p_embed, "embed") if x is not None else None
        if embed_mask is not None:
            x = x.mul_(embed_mask)  # a gather's fresh result
        caches = []
        for i in range(len(state)):
            h_new, rz, c, h_minus_c, gh_n = net._cell(i, x, inputs, state[i])
            mask = self._dropout_mask(h_new, cfg.dropout_p_hidden, i)
            out = h_new.mul_(mask) if mask is not None else h_new  # h_new is kept nowhere else
            caches.append(_LayerCache(x, state[i], rz, c, h_minus_c, gh_n, mask))
            state[i] = out
            x = out

        # 3. Scores against the targets and the shared samples; loss averaged over rows.
        scores = torch.addmm(out_rows[:, -1], x, wy_rows.T)
        loss, d_unique = self._loss(scores, targets, samples, col_inverse, counts)
        d_unique.mul_(1.0 / n)

        # 4. Backward: output layer (gradients of the item vectors and of the biases, (U, H)
        # and (U,)), then the GRU layers from the top.
        d_wy = d_unique.T @ x
        grads: dict = {"rows": rows, "Wy": d_wy, "By": d_unique.sum(dim=0)}
        grads["dense"] = self._dense_grad
        d_x = d_unique @ wy_rows
        for i in reversed(range(len(caches))):
            d_x = self._layer_backward(i, caches[i], d_x, self._dense_grad_views, grads)
        if d_x is not None and embed_mask is not None:
            d_x = d_x.mul_(embed_mask)  # a product's fresh result
        if shared:
            d_wy.index_add_(0, inverse[:n], d_x)
            if cfg.momentum > 0:  # biases of items that were only inputs stay untouched
                grads["frozen_bias"] = counts == 0
        else:
            grads["input_rows"] = d_x
        return loss, grads

    def _layer_backward(self, i: int, cache: _LayerCache, d_out: torch.Tensor, views, grads):
        """Write layer ``i``'s weight gradients into ``views``; return its input's gradient."""
        d_h = d_out * cache.mask if cache.mask is not None else d_out
        rz, c = cache.rz, cache.c
        size = c.shape[1]
        d_gi = torch.empty(len(c), 3 * size, dtype=c.dtype, device=c.device)
        d_n = d_gi[:, 2 * size :]
        d_c = torch.addcmul(d_h, d_h, rz[:, size:], value=-1.0)  # d_h * (1 - z)
        torch.addcmul(d_c, d_c, c * c, value=-1.0, out=d_n)  # d_c * (1 - c ** 2)
        torch.mul(d_n, cache.gh_n, out=d_gi[:, :size])
        torch.mul(d_h, cache.h_minus_c, out=d_gi[:, size : 2 * size])
        d_gi[:, : 2 * size].mul_(torch.addcmul(rz, rz, rz, value=-1.0))  # * gate (1 - gate)
        d_gh = d_gi.clone()
        d_gh[:, 2 * size :].mul_(rz[:, :size])
        torch.mm(cache.h.T, d_gh, out=views[f"w_hh.{i}"])
        torch.sum(d_gh, dim=0, out=views[f"b_hh.{i}"])
        torch.sum(d_gi, dim=0, out=views[f"b_ih.{i}"])
        if cache.x is None:  # one-hot input: d_gi is the gradient of the Wx rows
            grads["Wx_rows"] = d_gi
            return None
        torch.mm(cache.x.T, d_gi, out=views[f"w_ih.{i}"])
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
        opt.step_dense(grads["dense"])
        opt.step_rows("output", grads["rows"], grads["Wy"], grads.get("frozen_bias"), grads["By"])
        if net.mode == "embedding":
            opt.step_rows("E", *coalesce_rows(inputs, grads["input_rows"]))
        elif net.mode == "onehot":
            opt.step_rows("Wx", *coalesce_rows(inputs, grads["Wx_rows"]))
