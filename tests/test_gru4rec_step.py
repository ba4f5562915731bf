"""The hand-written training step against autograd on an independent forward pass."""

import numpy as np
import pytest
import torch

from gru4rec_study.models.gru4rec import GRU4RecConfig
from gru4rec_study.models.gru4rec.network import GRU4RecNetwork
from gru4rec_study.models.gru4rec.trainer import TrainingStep

N_ITEMS = 12


def _setup(config, n=4, seed=0, fused=None):
    torch.manual_seed(seed)
    net = GRU4RecNetwork(config, N_ITEMS, torch.device("cpu")).initialise(seed)
    # Non-zero biases so that their gradients and the gate algebra are exercised.
    net.dense.add_(torch.randn_like(net.dense) * 0.1)
    net.tables["output"][:, -1] = torch.randn(N_ITEMS) * 0.1
    counts = np.arange(1, N_ITEMS + 1)
    step = TrainingStep(net, config, counts, torch.Generator().manual_seed(seed), fused)
    inputs = torch.tensor([3, 5, 3, 0][:n])
    targets = torch.tensor([5, 2, 7, 5][:n])  # a repeated target, and input 3 twice
    samples = torch.tensor([2, 9, 9, 11, 0, 5])  # repeats, and overlaps with targets/inputs
    state = [torch.randn(n, h) * 0.5 for h in config.layers]
    return net, step, inputs, targets, samples, state, counts


def _masks(config, n):
    gen = torch.Generator().manual_seed(7)
    mask = lambda shape, p: (torch.rand(shape, generator=gen) >= p).float() / (1 - p)  # noqa: E731
    width = {"constrained": config.layers[-1], "embedding": config.embedding}.get(config.input_mode)
    embed = mask((n, width), config.dropout_p_embed) if width and config.dropout_p_embed else None
    hidden = [
        mask((n, h), config.dropout_p_hidden) if config.dropout_p_hidden else None
        for h in config.layers
    ]
    return embed, hidden


def _reference(
    net, config, inputs, targets, samples, state, counts, embed_mask, hidden_masks, new_state
):
    """Loss and gradients by autograd through torch.gru_cell and the losses written out here;
    the new states are appended to ``new_state``."""
    tensors = {k: v.clone().double().requires_grad_() for k, v in net.state_tensors().items()}
    n = len(inputs)
    if config.input_mode == "constrained":
        x = tensors["Wy"][inputs]
    elif config.input_mode == "embedding":
        x = tensors["E"][inputs]
    else:
        x = torch.nn.functional.one_hot(inputs, N_ITEMS).double()
    if embed_mask is not None:
        x = x * embed_mask.double()
    for i, h in enumerate(state):
        w_ih = tensors["Wx"] if (i == 0 and config.input_mode == "onehot") else tensors[f"w_ih.{i}"]
        x = torch.gru_cell(
            x,
            h.double(),
            w_ih.T,
            tensors[f"w_hh.{i}"].T,
            tensors[f"b_ih.{i}"],
            tensors[f"b_hh.{i}"],
        )
        if hidden_masks[i] is not None:
            x = x * hidden_masks[i].double()
        new_state.append(x.detach())
    columns = torch.cat([targets, samples])
    scores = x @ tensors["Wy"][columns].T + tensors["By"][columns]
    if config.loss == "cross-entropy":
        log_c = torch.log(torch.tensor(counts, dtype=torch.float64))
        log_q = torch.cat([log_c[targets], config.sample_alpha * log_c[samples]]) * config.logq
        loss = torch.nn.functional.cross_entropy(scores - log_q, torch.arange(n), reduction="sum")
        return _finish(loss, n, tensors)
    r = torch.nn.functional.elu(scores, config.elu_param) if config.elu_param else scores
    if config.loss == "top1":  # Hidasi et al. 2016, the mean over all columns
        pos = r.diagonal().unsqueeze(1)
        terms = torch.sigmoid(r - pos) + torch.sigmoid(r**2)
        loss = (terms.mean(1) - torch.sigmoid(pos.squeeze(1) ** 2) / r.shape[1]).sum()
    elif config.loss == "bpr":
        loss = -torch.nn.functional.logsigmoid(r.diagonal().unsqueeze(1) - r).sum()
    else:
        loss = 0
        for i in range(n):
            neg = torch.cat([r[i, :i], r[i, i + 1 :]])
            w = torch.softmax(neg, 0)
            loss = loss - torch.log((w * torch.sigmoid(r[i, i] - neg)).sum())
            loss = loss + config.bpreg * (w * neg**2).sum()
    return _finish(loss, n, tensors)


def _finish(loss, n, tensors):
    (loss / n).backward()
    return loss.item(), {k: v.grad for k, v in tensors.items()}


CONFIGS = [
    GRU4RecConfig(layers=(6,), n_sample=6, logq=1.0, sample_alpha=0.5),
    GRU4RecConfig(layers=(6,), n_sample=6, dropout_p_embed=0.3, dropout_p_hidden=0.4, logq=0.5),
    GRU4RecConfig(
        layers=(5,), n_sample=6, loss="bpr-max", elu_param=0.5, bpreg=1.0, dropout_p_hidden=0.2
    ),
    GRU4RecConfig(
        layers=(7, 5), n_sample=6, constrained_embedding=False, embedding=4, dropout_p_embed=0.2
    ),
    GRU4RecConfig(
        layers=(6, 4),
        n_sample=6,
        constrained_embedding=False,
        embedding=0,
        loss="bpr-max",
        elu_param=1.0,
        bpreg=0.5,
    ),
    GRU4RecConfig(layers=(5, 5), n_sample=6, logq=1.0, dropout_p_hidden=0.3),
    GRU4RecConfig(layers=(6,), n_sample=6, loss="top1"),
    GRU4RecConfig(layers=(6,), n_sample=6, loss="bpr", dropout_p_hidden=0.2),
    GRU4RecConfig(layers=(6,), n_sample=6, loss="bpr-max", elu_param=0.0, bpreg=0.0),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.input_mode}-{c.loss}-{c.layers}")
def test_step_gradients_equal_autograd(config):
    net, step, inputs, targets, samples, state, counts = _setup(config)
    embed_mask, hidden_masks = _masks(config, len(inputs))
    queue = ([embed_mask] if embed_mask is not None else []) + list(hidden_masks)
    step.sampler.next = lambda: samples
    step._dropout_mask = lambda like, p, site: queue.pop(0) if p > 0 else None
    ref_state = []
    ref_loss, ref_grads = _reference(
        net, config, inputs, targets, samples, state, counts, embed_mask, hidden_masks, ref_state
    )
    loss, grads = step.forward_backward(inputs, targets, state)

    assert loss.item() == pytest.approx(ref_loss, rel=1e-4)
    for mine, ref in zip(state, ref_state, strict=True):  # the dropped-out output is the state
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-4, atol=1e-6)
    # Dense gradients.
    for name, view in net.dense_views(grads["dense"]).items():
        np.testing.assert_allclose(
            view.numpy(), ref_grads[name].numpy(), rtol=1e-4, atol=1e-6, err_msg=name
        )
    # Output table: only the touched rows, already summed over repeats.
    rows = grads["rows"]
    dense_out = torch.cat([ref_grads["Wy"], ref_grads["By"].view(-1, 1)], 1)
    np.testing.assert_allclose(
        torch.cat([grads["Wy"], grads["By"].view(-1, 1)], 1).numpy(),
        dense_out[rows].numpy(),
        rtol=1e-4,
        atol=1e-6,
    )
    untouched = np.setdiff1d(np.arange(N_ITEMS), rows.numpy())
    assert np.all(dense_out[untouched].numpy() == 0)
    if config.input_mode == "embedding":
        ref = torch.zeros(N_ITEMS, config.embedding, dtype=torch.float64)
        ref.index_add_(0, inputs, grads["input_rows"].double())
        np.testing.assert_allclose(ref.numpy(), ref_grads["E"].numpy(), rtol=1e-4, atol=1e-6)
    if config.input_mode == "onehot":
        ref = torch.zeros_like(ref_grads["Wx"])
        ref.index_add_(0, inputs, grads["Wx_rows"].double())
        np.testing.assert_allclose(ref.numpy(), ref_grads["Wx"].numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "eager"])
def test_a_step_changes_only_touched_item_rows(fused):
    config = GRU4RecConfig(layers=(6,), n_sample=6, momentum=0.3)
    net, step, inputs, targets, samples, state, _ = _setup(config, fused=fused)
    assert step.fused is fused
    step.sampler.next = lambda: samples
    before = net.tables["output"].clone()
    step(inputs, targets, state)
    touched = set(torch.cat([inputs, targets, samples]).tolist())
    changed = set(torch.nonzero((net.tables["output"] != before).any(1)).view(-1).tolist())
    assert changed <= touched and changed
    # Biases of items that were inputs only (item 3) do not move.
    only_inputs = touched - set(torch.cat([targets, samples]).tolist())
    for item in only_inputs:
        assert net.tables["output"][item, -1] == before[item, -1]
