"""GRU4Rec as a recommender: training epochs over session-parallel mini-batches, and scoring.

Hidasi et al., "Session-based recommendations with recurrent neural networks" (ICLR 2016), and
Hidasi & Karatzoglou, "Recurrent neural networks with top-k gains for session-based
recommendations" (CIKM 2018). Behaviour follows the official PyTorch implementation except where
``docs/deviations.md`` says otherwise.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from gru4rec_study.data.batching import StepSchedule
from gru4rec_study.data.sessions import ItemMap, SessionData
from gru4rec_study.models.base import NotFittedError, TrainingError
from gru4rec_study.models.gru4rec.config import GRU4RecConfig
from gru4rec_study.models.gru4rec.network import GRU4RecNetwork
from gru4rec_study.models.gru4rec.trainer import TrainingStep
from gru4rec_study.models.io import save_model_files
from gru4rec_study.progress import progress

logger = logging.getLogger(__name__)

# A mini-batch's loss per event above this means the weights have blown up: cross-entropy is at
# most -log(1e-24) = 55.3 per event, and BPR-max's score regulariser reaches it only with scores
# in the hundreds (a learning rate of 1e6 gives 1e17 in the first epoch, still finite in
# float32). Training stops there as it does on NaN or infinity.
MAX_MEAN_LOSS = 1e6
# Bound on the GRU weights: the trained demo model's largest is below 4. Bounded losses
# (cross-entropy, BPR-max without score regularisation, TOP1) can stay finite while the weights
# blow up; the weights cannot.
MAX_WEIGHT = 1e5
# Largest input-gate table a scorer builds (n_items x 3 H_1 entries, float64): 32 MB, 14,000
# items of 100 units. Building it costs the first layer's input product of n_items events.
MAX_INPUT_GATES = 1 << 22


def _divergence(what: str, epoch: int, batch: int, cfg: GRU4RecConfig) -> str:
    """The message of a training stopped in ``epoch`` at ``batch`` because ``what``."""
    hint = f"lower learning_rate (now {cfg.learning_rate})"
    if cfg.momentum > 0:
        hint += f" or momentum (now {cfg.momentum})"
    return f"GRU4Rec: {what} in epoch {epoch}, mini-batch {batch}; {hint}"


def _loss_divergence(loss: float, n: int) -> str | None:
    """Why the summed ``loss`` of ``n`` events stops training, or None."""
    if not math.isfinite(loss):
        return f"the loss became {loss}"
    if loss > MAX_MEAN_LOSS * n:
        return f"the loss per event reached {loss / n:.3g} (above {MAX_MEAN_LOSS:.0g}: diverged)"
    return None


def _weight_divergence(network: GRU4RecNetwork) -> str | None:
    """Why the GRU weights stop training, or None."""
    largest = float(network.dense.abs().max()) if network.dense.numel() else 0.0
    if not math.isfinite(largest) or largest > MAX_WEIGHT:
        return f"a GRU weight reached {largest:.3g} (above {MAX_WEIGHT:.0e}: diverged)"
    return None


def resolve_device(name: str) -> torch.device:
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"GRU4Rec parameter 'device' is {name!r} but CUDA is not available")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"GRU4Rec parameter 'device' is {name!r} but this machine has"
            f" {torch.cuda.device_count()} CUDA device(s)"
        )
    return device


def keep_rows(state: list[torch.Tensor], mask: NDArray[np.bool_]) -> list[torch.Tensor]:
    keep = torch.from_numpy(mask).to(state[0].device)
    return [h[keep] for h in state]


def zero_rows(state: list[torch.Tensor], slots: NDArray[np.int64]) -> None:
    if len(slots):
        rows = torch.from_numpy(np.asarray(slots, dtype=np.int64)).to(state[0].device)
        for h in state:
            h.index_fill_(0, rows, 0.0)


class _GRU4RecScorer:
    """Scores in float64: matrix products round differently for different batch shapes, and in
    float32 that would let near-ties (and so ranks) depend on the evaluation batch size."""

    def __init__(self, network: GRU4RecNetwork, n_slots: int) -> None:
        self.net = network.converted(torch.float64)
        self.state = self.net.zero_state(n_slots)
        # The item vectors as a transposed view of the output table: BLAS reads it as fast as
        # a contiguous transposed copy (within 4% at 2,933 to 200,000 items), which would cost
        # 8 bytes per item and unit more and 120 ms to make for 200,000 items of 100 units.
        self._wy_t = self.net.Wy.T
        self._by = self.net.By.contiguous()
        # The first layer's input product, once per item rather than once per event: built
        # when n_items events have been fed (it has then cost no more than it saves), and only
        # while it is small.
        gates = network.n_items * 3 * network.config.layers[0]
        self._table_allowed = gates <= MAX_INPUT_GATES
        self._input_gates: torch.Tensor | None = None
        self._fed = 0

    def keep(self, mask: NDArray[np.bool_]) -> None:
        self.state = keep_rows(self.state, mask)

    def restart(self, n_slots: int) -> None:
        self.state = self.net.zero_state(n_slots)

    def reset(self, slots: NDArray[np.int64]) -> None:
        if len(slots):
            # Not in place: vectors handed out by session_vectors() must not change.
            rows = torch.from_numpy(np.asarray(slots, dtype=np.int64)).to(self.net.device)
            self.state = [h.index_fill(0, rows, 0.0) for h in self.state]

    def session_vectors(self, items: NDArray[np.int64]) -> torch.Tensor:
        index = torch.from_numpy(np.asarray(items, dtype=np.int64)).to(self.net.device)
        self._fed += len(index)
        # Built before the step that brings the events fed to n_items, so that it serves it.
        if self._input_gates is None and self._table_allowed and self._fed >= self.net.n_items:
            self._input_gates = self.net.input_gates()
        # hidden_step puts fresh tensors in the state, so the output is never written again.
        return self.net.hidden_step(index, self.state, self._input_gates)

    def scores_of(self, vectors: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        if out is None:
            return torch.addmm(self._by, vectors, self._wy_t)
        return torch.addmm(self._by, vectors, self._wy_t, out=out)

    def scores(self, items: NDArray[np.int64]) -> torch.Tensor:
        return self.scores_of(self.session_vectors(items))


class GRU4Rec:
    """GRU4Rec with the official training semantics.

    Parameters
    ----------
    config
        Hyperparameters; the official defaults when not given.
    show_progress
        Show a tqdm bar per epoch on stderr.
    """

    name = "GRU4Rec"

    def __init__(self, config: GRU4RecConfig | None = None, show_progress: bool = False) -> None:
        self.config = config or GRU4RecConfig()
        self.show_progress = show_progress
        self.item_map: ItemMap | None = None
        self.network_: GRU4RecNetwork | None = None
        self.training_log_: list[dict[str, float]] = []

    def fit(self, train: SessionData) -> GRU4Rec:
        """Train on ``train`` for ``config.n_epochs`` epochs.

        Raises
        ------
        TrainingError
            When the loss becomes NaN or infinite, a mini-batch's loss per event exceeds
            ``MAX_MEAN_LOSS``, or a GRU weight exceeds ``MAX_WEIGHT`` (checked every 200
            mini-batches and at the end of every epoch): the weights have diverged. The model is
            then left unfitted.
        ValueError
            When the training data gives no mini-batch.
        """
        cfg = self.config
        device = resolve_device(cfg.device)
        generator = torch.Generator(device=device).manual_seed(cfg.seed)
        network = GRU4RecNetwork(cfg, train.n_items, device).initialise(cfg.seed)
        step_fn = TrainingStep(network, cfg, train.item_counts(), generator)
        items = torch.from_numpy(train.item_idx.astype(np.int64)).to(device)
        self.item_map, self.network_, self.training_log_ = None, None, []
        logger.info(
            "GRU4Rec: %d items, %d sessions, %d training events; %s",
            train.n_items,
            train.n_sessions,
            train.n_prediction_events,
            cfg.as_dict(),
        )
        # Every epoch walks the same steps: computed once, replayed.
        schedule = StepSchedule(train.session_offsets, cfg.batch_size, 1 if cfg.n_sample else 2)
        if len(schedule) == 0:
            why = "the training data gives no mini-batch"
            if cfg.n_sample == 0:
                why += (
                    ": with n_sample = 0 a step needs two sessions side by side (batch_size"
                    f" {cfg.batch_size}, {train.n_sessions} training sessions)"
                )
            raise ValueError(f"GRU4Rec: {why}")
        for epoch in range(1, cfg.n_epochs + 1):
            record = self._epoch(epoch, train, items, network, step_fn, schedule)
            self.training_log_.append(record)
            logger.info(
                "epoch %d: loss %.4f, %.2f s, %.0f events/s, %.3f ms per mini-batch",
                epoch,
                record["loss"],
                record["seconds"],
                record["events_per_second"],
                record["ms_per_batch"],
            )
        self.item_map, self.network_ = train.item_map, network
        return self

    def _epoch(self, epoch, train, items, network, step_fn, schedule) -> dict[str, float]:
        cfg = self.config
        total_loss = 0.0  # float64 sum of the float32 mini-batch losses
        n_events, n_batches = 0, 0
        state = None
        bar = progress(
            desc=f"GRU4Rec epoch {epoch}/{cfg.n_epochs}",
            total=train.n_prediction_events,
            unit="ev",
            show=self.show_progress,
        )
        started = time.perf_counter()
        for step in schedule:
            n = len(step.positions)
            if state is None:
                state = network.zero_state(n)
            else:
                if step.keep is not None:
                    state = keep_rows(state, step.keep)
                zero_rows(state, step.reset)
            positions = torch.from_numpy(step.positions).to(network.device)
            loss = step_fn(items[positions], items[positions + 1], state)
            value = float(loss)
            n_batches += 1
            why = _loss_divergence(value, n)
            if why is None and (n_batches % 200 == 0 or n_batches == len(schedule)):
                why = _weight_divergence(network)
            if why is not None:
                bar.close()
                raise TrainingError(_divergence(why, epoch, n_batches, cfg))
            total_loss += value
            n_events += n
            if n_batches % 200 == 0:
                bar.update(n_events - bar.n)
        bar.close()
        seconds = time.perf_counter() - started
        return {
            "epoch": epoch,
            "loss": total_loss / max(n_events, 1),
            "seconds": seconds,
            "events": n_events,
            "mini_batches": n_batches,
            "events_per_second": n_events / seconds if seconds > 0 else float("nan"),
            "ms_per_batch": 1e3 * seconds / max(n_batches, 1),
        }

    def scorer(self, n_slots: int) -> _GRU4RecScorer:
        if self.network_ is None:
            raise NotFittedError("GRU4Rec: call fit() before scoring")
        return _GRU4RecScorer(self.network_, n_slots)

    def get_config(self) -> dict[str, Any]:
        return self.config.as_dict()

    def state_tensors(self) -> dict[str, torch.Tensor]:
        if self.network_ is None:
            raise NotFittedError("GRU4Rec: nothing to save before fit()")
        return self.network_.state_tensors()

    def save(self, directory: str | Path) -> Path:
        return save_model_files(self, directory)

    @classmethod
    def from_state(
        cls, config: dict[str, Any], item_map: ItemMap, tensors: dict, device: str | None = None
    ) -> GRU4Rec:
        cfg = GRU4RecConfig.from_dict(config)
        if device is not None:
            cfg = cfg.with_updates(device=device)
        model = cls(cfg)
        network = GRU4RecNetwork(cfg, item_map.n_items, resolve_device(cfg.device))
        model.network_ = network.load_state(tensors)
        model.item_map = item_map
        return model
