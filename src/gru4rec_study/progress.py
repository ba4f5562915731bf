"""The one progress bar of every long loop: training, evaluation, kNN fitting, bootstrap.

Library code never decides on its own to draw a bar: every loop takes a ``show_progress`` flag
(off by default) and passes it to :func:`progress`. The command line turns bars on with
:func:`progress_wanted`: only when ``--quiet`` is not given, the environment variable ``CI`` is
unset (or empty) and stderr is a terminal, so logs of batch jobs, CI and pipes stay free of
carriage-return noise. Bars go to stderr and vanish when their loop ends (``leave=False``); the
summary of each loop is logged either way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_wanted(quiet: bool = False) -> bool:
    """Whether bars should be drawn: not quiet, not in CI, and stderr is a terminal."""
    if quiet or os.environ.get("CI"):
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(
    iterable: Iterable[T] | None = None,
    *,
    desc: str,
    total: int | None = None,
    unit: str = "it",
    show: bool = False,
) -> tqdm:
    """A tqdm bar on stderr, drawn only when ``show`` is true.

    Wrap an iterable (``for x in progress(xs, desc=...)``) or give ``total`` and call
    ``update`` by hand; ``close`` it (or use it as a context manager) when done.
    """
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit=unit,
        disable=not show,
        leave=False,
        file=sys.stderr,
        dynamic_ncols=True,
    )
