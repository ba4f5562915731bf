"""The fixed tie rule of top lists and of pruned item-to-item matrices: equal values go in
item-index order, whatever order the library's selection routine would have picked."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gru4rec_study.models.itemknn import keep_top
from gru4rec_study.models.top_items import top_items


def _reference(row, k):
    """First k items of the row sorted by (score descending, index ascending), NaN lowest."""
    row = [(-np.inf if np.isnan(v) else v) for v in row]
    return sorted(range(len(row)), key=lambda i: (-row[i], i))[:k]


def test_ties_at_the_cutoff_go_to_the_lower_item_index():
    scores = torch.tensor([[1.0, 3.0, 2.0, 2.0, 2.0, 0.0], [5.0, 5.0, 5.0, 5.0, 5.0, 5.0]])
    values, indices = top_items(scores, 3)
    assert indices.tolist() == [[1, 2, 3], [0, 1, 2]]
    assert values.tolist() == [[3.0, 2.0, 2.0], [5.0, 5.0, 5.0]]


def test_nan_counts_as_the_lowest_score_and_k_is_capped_at_the_catalogue():
    scores = torch.tensor([[float("nan"), 1.0, float("nan")]], dtype=torch.float64)
    values, indices = top_items(scores, 10)
    assert indices.tolist() == [[1, 0, 2]]
    assert values[0, 0] == 1.0 and torch.isinf(values[0, 1:]).all()


def test_matches_a_full_sort_on_rows_with_many_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 30)).astype(np.float64)  # ties everywhere
    scores[rng.random(scores.shape) < 0.05] = np.nan
    for k in (1, 5, 20, 30):
        _, indices = top_items(torch.from_numpy(scores), k)
        assert indices.tolist() == [_reference(row, k) for row in scores]


def test_k_below_one_is_an_error_naming_k():
    with pytest.raises(ValueError, match="k must be at least 1"):
        top_items(torch.zeros(2, 3), 0)


def test_pruning_keeps_the_k_largest_per_row_with_ties_to_the_lower_column():
    rng = np.random.default_rng(1)
    dense = rng.integers(0, 4, size=(40, 25)).astype(np.float64)
    pruned = keep_top(sp.csr_matrix(dense), 3).toarray()
    for row, kept in zip(dense, pruned, strict=True):
        nonzero = [i for i in _reference(row, 3) if row[i] > 0]
        assert np.flatnonzero(kept).tolist() == sorted(nonzero)
        assert np.array_equal(kept[nonzero], row[nonzero])
