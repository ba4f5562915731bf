"""numba's ``njit`` with an on-disk cache where one can be written, and without one elsewhere.

The compiled loops are cached next to the package, or in the user's cache folder, or in
``NUMBA_CACHE_DIR``. A read-only installation run by a user without a writable home has none
of these; there numba refuses ``cache=True`` at import, so the loops are compiled in every
process instead (a few seconds at first use).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numba
import torch
from numba import njit

logger = logging.getLogger(__name__)


def jit(**options: Any) -> Callable[[Callable], Callable]:
    """``numba.njit(cache=True, **options)``, falling back to no cache when none can be kept."""

    def decorate(function: Callable) -> Callable:
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError as error:  # "cannot cache function ...: no locator available"
            logger.debug("%s: compiled without a cache (%s)", function.__qualname__, error)
            return njit(cache=False, **options)(function)

    return decorate


def match_threads() -> None:
    """Use as many threads in the loops as PyTorch uses in its operations."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
