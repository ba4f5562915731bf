"""The compiled loops' decorator and the checks in front of the loops."""

import numba
import pytest
import torch

from gru4rec_study.compiled import jit
from gru4rec_study.evaluation import target_ranks
from gru4rec_study.models.gru4rec.optimizer import IndexedAdagradM


def _function_without_a_source_file():
    namespace: dict = {}
    exec(compile("def add_one(x):\n    return x + 1\n", "<generated>", "exec"), namespace)
    return namespace["add_one"]


def test_a_function_that_cannot_be_cached_is_compiled_without_a_cache():
    """Where no cache can be kept (here: no source file; in practice a read-only package and
    no writable home), numba refuses cache=True at import; the decorator compiles anyway."""
    with pytest.raises(RuntimeError, match="cannot cache"):
        numba.njit(cache=True)(_function_without_a_source_file())
    assert jit()(_function_without_a_source_file())(41) == 42


@pytest.mark.parametrize("compiled", [True, False, None])
def test_target_ranks_refuse_targets_outside_the_catalogue_or_of_the_wrong_count(compiled):
    scores = torch.randn(4, 10, dtype=torch.float64)
    for bad in (10, -1, 10**7):
        with pytest.raises(ValueError, match=r"\[0, 10\)"):
            target_ranks(scores, torch.tensor([0, 1, 2, bad]), compiled=compiled)
    for count in (2, 6):
        with pytest.raises(ValueError, match="targets for 4 rows"):
            target_ranks(scores, torch.arange(count), compiled=compiled)


def test_target_ranks_of_other_dtypes_and_of_tensors_with_gradients_use_the_chunks():
    scores = torch.tensor([[0.5, 0.9, 0.5, 0.1]])
    targets = torch.tensor([0])
    for tensor in (scores.half(), scores.bfloat16(), scores.clone().requires_grad_()):
        assert target_ranks(tensor, targets).item() == 3.0
    with pytest.raises(ValueError, match="compiled count needs"):
        target_ranks(scores.half(), targets, compiled=True)


def test_fused_updates_refuse_rows_and_gradients_that_do_not_fit():
    opt = IndexedAdagradM(torch.zeros(1000), {"t": torch.zeros(50, 4)}, 0.1, 0.0, fused=True)
    with pytest.raises(ValueError, match="dense gradient of shape"):
        opt.step_dense(torch.ones(10))
    for rows in ([50, 3], [-1, 3]):
        with pytest.raises(ValueError, match=r"\[0, 50\)"):
            opt.step_rows("t", torch.tensor(rows), torch.ones(2, 4))
    with pytest.raises(ValueError, match="row gradients of shape"):
        opt.step_rows("t", torch.tensor([1, 2, 3]), torch.ones(2, 4))
    assert torch.equal(opt.sparse["t"], torch.zeros(50, 4))  # nothing was written
