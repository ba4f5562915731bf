"""The GRU4Rec network: item tables, stacked GRU layers, and one training step by hand.

Items enter in one of three ways (``GRU4RecConfig.input_mode``): the shared ("constrained")
embedding reuses the output matrix ``Wy``; a separate embedding ``E`` feeds the first layer; or
one-hot input, where a row of ``Wx`` (shape (n_items, 3 * H_0)) stands for one-hot times the
first layer's input weights. Every layer is a GRU cell with PyTorch's gate convention:

    r = sigmoid(x W_r + b_ir + h U_r + b_hr),  z = sigmoid(x W_z + b_iz + h U_z + b_hz)
    c = tanh(x W_n + b_in + r * (h U_n + b_hn)),  h' = (1 - z) * c + z * h

Scores are ``h_last Wy^T + By``. Training uses one-step gradients (the state is detached every
step, as in the official code), so the backward pass of a step is short and written out here;
the tests check it against autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gru4rec_study.models.gru4rec.config import GRU4RecConfig


def _uniform(rng: np.random.Generator, shape: tuple[int, int], blocks: int = 1) -> torch.Tensor:
    """U(-s, s) with s = sqrt(6 / (fan_in + fan_out)) drawn separately for each gate block."""
    n_in, n_out = shape
    sigma = np.sqrt(6.0 / (n_in + n_out))
    parts = [rng.uniform(-sigma, sigma, size=(n_in, n_out)) for _ in range(blocks)]
    return torch.from_numpy(np.concatenate(parts, axis=1).astype(np.float32))


@dataclass
class _LayerCache:
    """What one layer's forward pass keeps for its backward pass."""

    x: torch.Tensor | None  # layer input (None when the input was a one-hot row of Wx)
    h: torch.Tensor  # previous state
    r: torch.Tensor
    z: torch.Tensor
    c: torch.Tensor
    gh_n: torch.Tensor  # h U_n + b_hn
    mask: torch.Tensor | None  # dropout mask (already scaled), None without dropout


class GRU4RecNetwork:
    """Parameters of GRU4Rec as plain tensors, with inference and a hand-written training step."""

    def __init__(self, config: GRU4RecConfig, n_items: int, device: torch.device) -> None:
        self.config = config
        self.n_items = n_items
        self.device = device
        self.mode = config.input_mode
        self.tables: dict[str, torch.Tensor] = {}
        self.w_ih: list[torch.Tensor | None] = []
        self.w_hh: list[torch.Tensor] = []
        self.b_ih: list[torch.Tensor] = []
        self.b_hh: list[torch.Tensor] = []

    def initialise(self, seed: int) -> GRU4RecNetwork:
        """Draw the weights (uniform per gate block; biases zero), seeded."""
        rng = np.random.default_rng(seed)
        layers = self.config.layers
        n_in = {"constrained": layers[-1], "embedding": self.config.embedding, "onehot": 0}
        n_input = n_in[self.mode]
        if self.mode == "embedding":
            self.tables["E"] = _uniform(rng, (self.n_items, n_input))
        for i, size in enumerate(layers):
            if i == 0 and self.mode == "onehot":
                self.tables["Wx"] = _uniform(rng, (self.n_items, size), blocks=3)
                self.w_ih.append(None)
            else:
                self.w_ih.append(_uniform(rng, (n_input, size), blocks=3))
            self.w_hh.append(_uniform(rng, (size, size), blocks=3))
            self.b_ih.append(torch.zeros(3 * size))
            self.b_hh.append(torch.zeros(3 * size))
            n_input = size
        self.tables["Wy"] = _uniform(rng, (self.n_items, layers[-1]))
        self.tables["By"] = torch.zeros(self.n_items)
        return self.to(self.device)

    def to(self, device: torch.device) -> GRU4RecNetwork:
        self.device = device
        self.tables = {k: v.to(device) for k, v in self.tables.items()}
        self.w_ih = [w.to(device) if w is not None else None for w in self.w_ih]
        for name in ("w_hh", "b_ih", "b_hh"):
            setattr(self, name, [t.to(device) for t in getattr(self, name)])
        return self

    # -- parameters -------------------------------------------------------------------------

    def dense_parameters(self) -> list[torch.Tensor]:
        params = [w for w in self.w_ih if w is not None]
        return params + self.w_hh + self.b_ih + self.b_hh

    def state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = dict(self.tables)
        for i in range(len(self.config.layers)):
            if self.w_ih[i] is not None:
                tensors[f"w_ih.{i}"] = self.w_ih[i]
            tensors[f"w_hh.{i}"] = self.w_hh[i]
            tensors[f"b_ih.{i}"] = self.b_ih[i]
            tensors[f"b_hh.{i}"] = self.b_hh[i]
        return tensors

    def load_state(self, tensors: dict[str, torch.Tensor]) -> GRU4RecNetwork:
        self.tables = {k: tensors[k] for k in ("E", "Wx", "Wy", "By") if k in tensors}
        n_layers = len(self.config.layers)
        self.w_ih = [tensors.get(f"w_ih.{i}") for i in range(n_layers)]
        self.w_hh = [tensors[f"w_hh.{i}"] for i in range(n_layers)]
        self.b_ih = [tensors[f"b_ih.{i}"] for i in range(n_layers)]
        self.b_hh = [tensors[f"b_hh.{i}"] for i in range(n_layers)]
        return self.to(self.device)

    def zero_state(self, n: int) -> list[torch.Tensor]:
        return [torch.zeros(n, h, device=self.device) for h in self.config.layers]

    # -- forward ------------------------------------------------------------------------------

    def _input(self, items: torch.Tensor) -> torch.Tensor | None:
        if self.mode == "constrained":
            return self.tables["Wy"].index_select(0, items)
        if self.mode == "embedding":
            return self.tables["E"].index_select(0, items)
        return None

    def _cell(self, i: int, x: torch.Tensor | None, items: torch.Tensor, h: torch.Tensor):
        """One GRU layer: returns (h', r, z, c, gh_n)."""
        if x is None:
            gi = self.tables["Wx"].index_select(0, items) + self.b_ih[i]
        else:
            gi = torch.addmm(self.b_ih[i], x, self.w_ih[i])
        gh = torch.addmm(self.b_hh[i], h, self.w_hh[i])
        size = h.shape[1]
        rz = torch.sigmoid_(gi[:, : 2 * size] + gh[:, : 2 * size])
        r, z = rz[:, :size], rz[:, size:]
        gh_n = gh[:, 2 * size :]
        c = torch.tanh_(torch.addcmul(gi[:, 2 * size :], r, gh_n))
        h_new = torch.addcmul(c, z, h - c)
        return h_new, r, z, c, gh_n

    @torch.no_grad()
    def hidden_step(self, items: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        """Advance ``state`` in place by one item per row (no dropout); return the top output."""
        x = self._input(items)
        for i in range(len(state)):
            x = self._cell(i, x, items, state[i])[0]
            state[i] = x
        return x

    @torch.no_grad()
    def score_all(self, output: torch.Tensor) -> torch.Tensor:
        """Scores of every item, shape (n, n_items)."""
        return torch.addmm(self.tables["By"], output, self.tables["Wy"].T)
