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
    rz: torch.Tensor  # the reset and update gates side by side, shape (n, 2 H)
    c: torch.Tensor
    h_minus_c: torch.Tensor
    gh_n: torch.Tensor  # h U_n + b_hn
    mask: torch.Tensor | None  # dropout mask (already scaled), None without dropout


class GRU4RecNetwork:
    """Parameters of GRU4Rec as plain tensors, with inference and a hand-written training step.

    Storage is laid out for the training step: the output table ``output`` has shape
    (n_items, H_last + 1), item vectors ``Wy`` in the first H_last columns and biases ``By`` in
    the last, so that one matrix product gives scores with biases and one row update serves
    both; the GRU weights are views into one flat tensor ``dense`` that the optimizer updates in
    one go.
    """

    def __init__(self, config: GRU4RecConfig, n_items: int, device: torch.device) -> None:
        self.config = config
        self.n_items = n_items
        self.device = device
        self.mode = config.input_mode
        self.tables: dict[str, torch.Tensor] = {}
        self.dense = torch.empty(0)
        self.w_ih: list[torch.Tensor | None] = []
        self.w_hh: list[torch.Tensor] = []
        self.b_ih: list[torch.Tensor] = []
        self.b_hh: list[torch.Tensor] = []

    @property
    def Wy(self) -> torch.Tensor:  # noqa: N802 - the paper's name
        """Output item vectors, shape (n_items, H_last) (a view into ``output``)."""
        return self.tables["output"][:, :-1]

    @property
    def By(self) -> torch.Tensor:  # noqa: N802 - the paper's name
        """Output item biases, shape (n_items,) (a view into ``output``)."""
        return self.tables["output"][:, -1]

    def dense_layout(self) -> list[tuple[str, tuple[int, ...]]]:
        """Names and shapes of the dense parameters, in storage order."""
        layers = self.config.layers
        n_input = {"constrained": layers[-1], "embedding": self.config.embedding, "onehot": 0}[
            self.mode
        ]
        layout: list[tuple[str, tuple[int, ...]]] = []
        for i, size in enumerate(layers):
            if not (i == 0 and self.mode == "onehot"):
                layout.append((f"w_ih.{i}", (n_input, 3 * size)))
            layout += [
                (f"w_hh.{i}", (size, 3 * size)),
                (f"b_ih.{i}", (3 * size,)),
                (f"b_hh.{i}", (3 * size,)),
            ]
            n_input = size
        return layout

    def dense_views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split a flat tensor into named views of the dense parameters' shapes."""
        views, start = {}, 0
        for name, shape in self.dense_layout():
            size = int(np.prod(shape))
            views[name] = flat[start : start + size].view(shape)
            start += size
        return views

    def _bind_dense(self) -> None:
        views = self.dense_views(self.dense)
        n_layers = len(self.config.layers)
        self.w_ih = [views.get(f"w_ih.{i}") for i in range(n_layers)]
        self.w_hh = [views[f"w_hh.{i}"] for i in range(n_layers)]
        self.b_ih = [views[f"b_ih.{i}"] for i in range(n_layers)]
        self.b_hh = [views[f"b_hh.{i}"] for i in range(n_layers)]

    def initialise(self, seed: int) -> GRU4RecNetwork:
        """Draw the weights (uniform per gate block; biases zero), seeded."""
        rng = np.random.default_rng(seed)
        layers = self.config.layers
        values: dict[str, torch.Tensor] = {}
        if self.mode == "embedding":
            values["E"] = _uniform(rng, (self.n_items, self.config.embedding))
        for name, shape in self.dense_layout():
            i = int(name.split(".")[1])
            if name.startswith("w_"):
                values[name] = _uniform(rng, (shape[0], layers[i]), blocks=3)
            else:
                values[name] = torch.zeros(shape)
        if self.mode == "onehot":
            values["Wx"] = _uniform(rng, (self.n_items, layers[0]), blocks=3)
        values["Wy"] = _uniform(rng, (self.n_items, layers[-1]))
        values["By"] = torch.zeros(self.n_items)
        return self.load_state(values)

    def to(self, device: torch.device) -> GRU4RecNetwork:
        self.device = device
        self.tables = {k: v.to(device) for k, v in self.tables.items()}
        self.dense = self.dense.to(device)
        self._bind_dense()
        return self

    # -- parameters -------------------------------------------------------------------------

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Every parameter as a separate contiguous tensor, named as in the docs."""
        tensors = {k: v.clone() for k, v in self.tables.items() if k != "output"}
        tensors["Wy"], tensors["By"] = self.Wy.contiguous(), self.By.contiguous()
        tensors.update({k: v.clone() for k, v in self.dense_views(self.dense).items()})
        return tensors

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every tensor of :meth:`state_tensors`."""
        layers, n = self.config.layers, self.n_items
        shapes: dict[str, tuple[int, ...]] = {"Wy": (n, layers[-1]), "By": (n,)}
        if self.mode == "embedding":
            shapes["E"] = (n, self.config.embedding)
        if self.mode == "onehot":
            shapes["Wx"] = (n, 3 * layers[0])
        shapes.update(self.dense_layout())
        return shapes

    def load_state(self, tensors: dict[str, torch.Tensor]) -> GRU4RecNetwork:
        """Take parameters named as :meth:`state_tensors` names them.

        Raises ``ValueError`` when a tensor is missing, unexpected, of another shape than the
        config and the catalogue give (item tables have one row per item), or not finite.
        """
        shapes = self.tensor_shapes()
        missing = [name for name in shapes if name not in tensors]
        if missing:
            raise ValueError(f"GRU4Rec weights lack {missing}")
        unexpected = sorted(set(tensors) - set(shapes))
        if unexpected:
            raise ValueError(f"GRU4Rec weights hold tensors the config does not use: {unexpected}")
        for name, shape in shapes.items():
            if not tensors[name].is_floating_point():
                raise ValueError(
                    f"GRU4Rec weight {name} has dtype {tensors[name].dtype}; expected floats"
                )
            if tuple(tensors[name].shape) != shape:
                raise ValueError(
                    f"GRU4Rec weight {name} has shape {tuple(tensors[name].shape)}; the config"
                    f" and the item map ({self.n_items} items) give {shape}"
                )
            bad = int((~torch.isfinite(tensors[name].float())).sum())
            if bad:
                raise ValueError(
                    f"GRU4Rec weight {name} has {bad} values that are NaN, infinite or beyond"
                    " float32's range"
                )
        self.tables = {k: tensors[k].float() for k in ("E", "Wx") if k in tensors}
        self.tables["output"] = torch.cat([tensors["Wy"], tensors["By"].view(-1, 1)], 1).float()
        layout = self.dense_layout()
        self.dense = torch.cat([tensors[name].reshape(-1).float() for name, _ in layout])
        return self.to(self.device)

    def zero_state(self, n: int) -> list[torch.Tensor]:
        dtype = self.dense.dtype
        return [torch.zeros(n, h, dtype=dtype, device=self.device) for h in self.config.layers]

    def converted(self, dtype: torch.dtype) -> GRU4RecNetwork:
        """A copy of the network with every parameter in ``dtype``."""
        copy = GRU4RecNetwork(self.config, self.n_items, self.device)
        copy.tables = {k: v.to(dtype) for k, v in self.tables.items()}
        copy.dense = self.dense.to(dtype)
        copy._bind_dense()
        return copy

    # -- forward ------------------------------------------------------------------------------

    def _input(self, items: torch.Tensor) -> torch.Tensor | None:
        if self.mode == "constrained":
            return self.Wy.index_select(0, items)
        if self.mode == "embedding":
            return self.tables["E"].index_select(0, items)
        return None

    def input_gates(self) -> torch.Tensor:
        """The first layer's input projection (bias included) of every item: (n_items, 3 H_1).

        Row ``j`` is what a step computes from item ``j`` as input, so a scorer can look the
        rows up instead of multiplying per event.
        """
        if self.mode == "onehot":
            return self.tables["Wx"] + self.b_ih[0]
        inputs = self.Wy if self.mode == "constrained" else self.tables["E"]
        w_ih = self.w_ih[0]
        assert w_ih is not None  # every mode but one-hot has a first input matrix
        return torch.addmm(self.b_ih[0], inputs, w_ih)

    def _cell(
        self,
        i: int,
        x: torch.Tensor | None,
        items: torch.Tensor,
        h: torch.Tensor,
        gi: torch.Tensor | None = None,
    ):
        """One GRU layer: returns (h', rz, c, h - c, gh_n), rz the two gates side by side.

        ``gi``, when given, is the layer's input projection (rows of :meth:`input_gates`).
        """
        if gi is None:
            w_ih = self.w_ih[i]
            if x is None or w_ih is None:  # one-hot input: rows of the Wx table
                gi = self.tables["Wx"].index_select(0, items) + self.b_ih[i]
            else:
                gi = torch.addmm(self.b_ih[i], x, w_ih)
        gh = torch.addmm(self.b_hh[i], h, self.w_hh[i])
        size = h.shape[1]
        rz = torch.sigmoid_(gi[:, : 2 * size] + gh[:, : 2 * size])
        gh_n = gh[:, 2 * size :]
        c = torch.tanh_(torch.addcmul(gi[:, 2 * size :], rz[:, :size], gh_n))
        h_minus_c = h - c
        h_new = torch.addcmul(c, rz[:, size:], h_minus_c)
        return h_new, rz, c, h_minus_c, gh_n

    @torch.no_grad()
    def hidden_step(
        self,
        items: torch.Tensor,
        state: list[torch.Tensor],
        input_gates: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Advance ``state`` by one item per row (no dropout); return the top output.

        Every layer's entry of ``state`` is replaced by a fresh tensor. ``input_gates`` (the
        result of :meth:`input_gates`) saves the first layer's input product.
        """
        gi = None if input_gates is None else input_gates.index_select(0, items)
        x = None if gi is not None else self._input(items)
        for i in range(len(state)):
            x = self._cell(i, x, items, state[i], gi if i == 0 else None)[0]
            state[i] = x
        return x
