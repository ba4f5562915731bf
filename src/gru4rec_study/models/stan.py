"""STAN (Garg et al., SIGIR 2019) and V-STAN (Ludewig et al., 2021), as session-rec runs them.

STAN is SKNN with three exponential decays (Garg et al., section 3):

- the prefix click at position p (1-based, repeats counted) of a prefix of n clicks has weight
  exp((p - n) / lambda_spw) in a cosine similarity between the weighted prefix and the binary
  item set of the neighbour (an item clicked twice has the weight of its last click),
- the similarity is multiplied by exp(-(t - t_n) / (lambda_snh days)), t being the time of the
  current click and t_n that of the neighbour's last click,
- a neighbour votes for each of its items with its similarity times
  exp(-|q - q*| / lambda_inh), q being the position of the item's last click in the neighbour
  and q* that of the neighbour's most recent click on any prefix item.

V-STAN (session-rec's ``vstan``) multiplies every vote by (1 + lambda_idf * log(n_sessions /
support)) and by exp((p* - n) / lambda_ipw), p* being the prefix position of the most recent
click that the neighbour shares. A lambda of None switches its factor off.

Candidates, recency sampling and the choice of the ``k`` neighbours are those of SKNN
(:mod:`.knn_batch`); the time factor needs every click's timestamp, which the evaluator passes to
scorers whose model sets ``uses_time``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gru4rec_study.data.sessions import SessionData
from gru4rec_study.models.knn_batch import (
    PositionTable,
    PrefixEntries,
    accumulate,
    candidates,
    expand,
    row_of,
    segment_max,
    select_neighbours,
)
from gru4rec_study.models.sknn import SessionKNN, idf
from gru4rec_study.validation import check_params, given_params

SECONDS_PER_DAY = 86_400.0


def _decay(distance: NDArray[np.float64], scale: float | None) -> NDArray[np.float64] | float:
    """exp(-distance / scale), or 1 when the factor is switched off (``scale`` None)."""
    return 1.0 if scale is None else np.exp(-distance / scale)


class STAN(SessionKNN):
    """Sequence and Time Aware Neighbourhood: SKNN with position and recency decays.

    Parameters
    ----------
    k, sample_size
        Neighbours that vote; most recent candidate sessions considered.
    lambda_spw
        Decay of the prefix click weights with their distance to the last click (clicks).
    lambda_snh
        Decay of the similarity with the age of the neighbour (days).
    lambda_inh
        Decay of a vote with the distance to the shared click in the neighbour (clicks).
    remind
        Whether items of the prefix may be recommended (they get no votes when false).
    popularity_tiebreak
        Items without votes get popularity below every vote.
    """

    uses_positions = True
    name = "STAN"
    PARAMS = {
        "k": "int",
        "sample_size": "int",
        "lambda_spw": "float | None",
        "lambda_snh": "float | None",
        "lambda_inh": "float | None",
        "remind": "bool",
        "popularity_tiebreak": "bool",
    }
    uses_time = True

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 5000,
        lambda_spw: float | None = 1.02,
        lambda_snh: float | None = 5.0,
        lambda_inh: float | None = 2.05,
        remind: bool = True,
        popularity_tiebreak: bool = True,
    ) -> None:
        self._set_params(given_params(locals()))

    def _set_params(self, values: dict[str, Any]) -> None:
        check_params(self.name, values, self.PARAMS)
        self._check_sizes(values["k"], values["sample_size"])
        for key, value in values.items():
            if key.startswith("lambda_") and value is not None and not value > 0:
                raise ValueError(f"{self.name} parameter {key!r} must be > 0 or None, got {value}")
            setattr(self, key, value)
        self.item_map = None

    def fit(self, train: SessionData) -> STAN:
        super().fit(train)
        self._set_item_factor()
        return self

    def _set_item_factor(self) -> None:
        """The per-item factor on every vote (none for STAN)."""
        self.item_factor_ = None

    def score_prefixes(
        self, prefix: PrefixEntries, now: NDArray[np.float64], table: PositionTable
    ) -> NDArray[np.float64]:
        """Scores of all items after every prefix (``now``: time per slot), (n_slots, n_items)."""
        index, n_items = self.index_, self.item_map.n_items
        length = prefix.length.astype(np.float64)
        weights = _decay(length[prefix.slot] - prefix.position, self.lambda_spw)
        weights = np.broadcast_to(weights, prefix.position.shape).astype(np.float64)

        # Cosine of the weighted prefix and the binary neighbour, times the age decay.
        weighted = candidates(prefix, weights, index)
        rows = row_of(weighted.indptr)
        if getattr(self, "similarity", "cosine") == "vec":
            similarity = weighted.data / prefix.n_distinct[rows]
        else:
            norm = np.sqrt(np.bincount(prefix.slot, weights * weights, minlength=len(length)))
            similarity = weighted.data / (norm[rows] * np.sqrt(index.size[weighted.indices]))
        age = now[rows] - index.end[weighted.indices]
        snh = None if self.lambda_snh is None else self.lambda_snh * SECONDS_PER_DAY
        similarity = similarity * _decay(age, snh)
        neighbours = select_neighbours(weighted, rows, similarity, self.sample_size, self.k)

        # Votes of every item of every neighbour.
        expanded = expand(neighbours, index)
        in_prefix = table.lookup(prefix, expanded.key, n_items)  # prefix position, 0 if absent
        votes = expanded.per_entry(neighbours.similarity)
        if self.lambda_inh is not None:
            # Positions are whole clicks, so the decay is a table lookup by distance.
            shared_at = segment_max(np.where(in_prefix > 0, expanded.position, 0.0), expanded)
            distance = expanded.position - expanded.per_entry(shared_at)
            votes *= self._inh_table()[np.abs(distance, out=distance).astype(np.intp)]
        votes = self._extra_factors(votes, expanded, in_prefix, length[neighbours.slot])
        if not self.remind:
            votes = np.where(in_prefix > 0, 0.0, votes)
        return self._finish(accumulate(expanded, votes, len(length), n_items))

    def _extra_factors(self, votes, expanded, in_prefix, length) -> NDArray[np.float64]:
        """Further factors on the votes (V-STAN); ``length`` is the prefix length per pair."""
        return votes

    def _inh_table(self) -> NDArray[np.float64]:
        """exp(-d / lambda_inh) for every distance d between two positions of a neighbour."""
        key = (self.lambda_inh, id(self.index_))
        if getattr(self, "_inh_cache", (None, None))[0] != key:
            longest = int(self.index_.sessions.data.max(initial=0))  # positions: 1..longest
            distance = np.arange(longest + 1, dtype=np.float64)
            self._inh_cache = (key, _decay(distance, self.lambda_inh))
        return self._inh_cache[1]

    @classmethod
    def from_state(cls, config: dict[str, Any], item_map, tensors: dict):
        model = super().from_state(config, item_map, tensors)
        model._set_item_factor()
        return model


class VSTAN(STAN):
    """V-STAN: STAN with V-SKNN's idf weighting and the prefix position of the shared click.

    Parameters (beyond those of :class:`STAN`)
    ----------
    lambda_ipw
        Decay of a vote with the distance of the most recent shared click to the end of the
        prefix (clicks).
    lambda_idf
        Strength of the idf factor on the votes.
    similarity
        ``cosine`` (what session-rec computes, whatever its parameter says) or ``vec``: the sum
        of the weights of the shared prefix items over the number of distinct prefix items.
    """

    name = "V-STAN"
    PARAMS = {
        **STAN.PARAMS,
        "lambda_ipw": "float | None",
        "lambda_idf": "float | None",
        "similarity": "str",
    }
    SIMILARITIES = ("cosine", "vec")

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 5000,
        lambda_spw: float | None = 1.02,
        lambda_snh: float | None = 5.0,
        lambda_inh: float | None = 2.05,
        lambda_ipw: float | None = 1.02,
        lambda_idf: float | None = 5.0,
        similarity: str = "cosine",
        remind: bool = True,
        popularity_tiebreak: bool = True,
    ) -> None:
        self._set_params(given_params(locals()))
        if similarity not in self.SIMILARITIES:
            raise ValueError(
                f"V-STAN parameter 'similarity' must be one of {self.SIMILARITIES}, got"
                f" {similarity!r}"
            )

    def _set_item_factor(self) -> None:
        if self.lambda_idf is None:
            self.item_factor_ = None
        else:
            self.item_factor_ = 1.0 + self.lambda_idf * idf(
                self.index_.n_sessions, self.popularity_
            )

    def _extra_factors(self, votes, expanded, in_prefix, length) -> NDArray[np.float64]:
        if self.item_factor_ is not None:
            votes *= self.item_factor_[expanded.item]
        if self.lambda_ipw is not None:
            latest = segment_max(in_prefix, expanded)
            votes *= expanded.per_entry(_decay(length - latest, self.lambda_ipw))
        return votes
