"""Saving and loading models as plain files: a JSON config, a JSON item map, and tensors.

The tensors are saved with :func:`torch.save` as a flat dict and loaded with
``torch.load(weights_only=True)``: no pickled objects, so loading a file never runs code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gru4rec_study.data.sessions import ItemMap

FORMAT_VERSION = 1
CONFIG_FILE, ITEMS_FILE, TENSORS_FILE = "model.json", "items.json", "weights.pt"


def save_model_files(model: Any, directory: str | Path) -> Path:
    """Write ``model`` into ``directory`` (created if needed) and return the directory."""
    if model.item_map is None:
        raise ValueError(f"{model.name}: cannot save a model that was not fitted")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT_VERSION, "model": model.name, "config": model.get_config()}
    (directory / CONFIG_FILE).write_text(json.dumps(header, indent=2) + "\n")
    (directory / ITEMS_FILE).write_text(json.dumps([str(i) for i in model.item_map.item_ids]))
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_tensors().items()}
    torch.save(tensors, directory / TENSORS_FILE)
    return directory


def read_model_files(directory: str | Path) -> tuple[dict[str, Any], ItemMap, dict]:
    """Return the header, item map and tensors saved by :func:`save_model_files`.

    Raises
    ------
    FileNotFoundError
        When one of the three files is missing (the error names it).
    ValueError
        When a file cannot be read as what :func:`save_model_files` writes (unreadable JSON, a
        truncated or foreign weights file); the error names the file.
    """
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{directory}: not a saved model (no {CONFIG_FILE})")
    for name in (ITEMS_FILE, TENSORS_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory}: the saved model lacks {name}")
    header = _read_json(config_path)
    if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
        found = header.get("format") if isinstance(header, dict) else header
        raise ValueError(f"{config_path}: unsupported model format {found!r}")
    if not isinstance(header.get("model"), str) or not isinstance(header.get("config"), dict):
        raise ValueError(f"{config_path}: expected a model name and a config object")
    ids = _read_json(directory / ITEMS_FILE)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValueError(f"{directory / ITEMS_FILE}: expected a non-empty list of item ids (text)")
    try:
        item_map = ItemMap(np.asarray(ids, dtype=object))
    except ValueError as error:
        raise ValueError(f"{directory / ITEMS_FILE}: {error}") from error
    path = directory / TENSORS_FILE
    try:
        tensors = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:  # truncated zip, empty file, pickled objects: all unreadable
        raise ValueError(f"{path}: not a readable weights file ({type(error).__name__})") from error
    if not isinstance(tensors, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()
    ):
        raise ValueError(f"{path}: expected a dict of named tensors")
    return header, item_map, tensors


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error


def _required(tensors: dict, name: str) -> torch.Tensor:
    if name not in tensors:
        raise ValueError(f"the weights lack the tensor {name!r}")
    return tensors[name]


def checked_tensor(tensors: dict, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """``tensors[name]``, refused (``ValueError``) when missing, misshapen or not finite.

    ``shape`` is what the model's config, item map and other tensors give; item vectors have
    one entry per item of the item map. Values must be float32 or float64, as saved.
    """
    tensor = _required(tensors, name)
    if tensor.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"tensor {name!r} has dtype {tensor.dtype}; expected float32 or float64")
    if tuple(tensor.shape) != shape:
        raise ValueError(f"tensor {name!r} has shape {tuple(tensor.shape)}; expected {shape}")
    bad = int((~torch.isfinite(tensor)).sum())
    if bad:
        raise ValueError(f"tensor {name!r} has {bad} NaN or infinite values")
    return tensor


def csr_tensors(matrix: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """A scipy CSR matrix as three tensors (for :func:`save_model_files`)."""
    return {
        f"{prefix}indptr": torch.from_numpy(matrix.indptr.astype(np.int64)),
        f"{prefix}indices": torch.from_numpy(matrix.indices.astype(np.int64)),
        f"{prefix}data": torch.from_numpy(matrix.data),
    }


def checked_csr_arrays(
    tensors: dict, n_rows: int | None, n_cols: int, prefix: str = "", data: str = "data"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data, indices, indptr) of a saved CSR matrix, checked before scipy sees them.

    scipy does not check every index of a matrix built from these arrays, and a bad one can
    crash the process later; here each is checked. ``n_rows`` None takes the rows from
    ``indptr``. ``data`` names the values' tensor.
    """
    arrays = {}
    for key in ("indptr", "indices"):
        name = f"{prefix}{key}"
        tensor = _required(tensors, name)
        if tensor.dtype not in (torch.int32, torch.int64) or tensor.dim() != 1:
            raise ValueError(f"tensor {name!r} must be a vector of integers")
        arrays[key] = tensor.numpy().astype(np.int64)
    indptr, indices = arrays["indptr"], arrays["indices"]
    rows = max(len(indptr) - 1, 0) if n_rows is None else n_rows
    values = checked_tensor(tensors, f"{prefix}{data}", (len(indices),)).numpy()
    if len(indptr) != rows + 1:
        raise ValueError(
            f"tensor {prefix + 'indptr'!r} has {len(indptr)} entries; expected {rows + 1}"
        )
    if indptr[0] != 0 or indptr[-1] != len(indices) or (np.diff(indptr) < 0).any():
        raise ValueError(
            f"tensor {prefix + 'indptr'!r} must start at 0, never decrease and end at the"
            f" {len(indices)} entries of {prefix + 'indices'!r}"
        )
    if len(indices) and (indices.min() < 0 or indices.max() >= n_cols):
        raise ValueError(f"tensor {prefix + 'indices'!r} must lie in [0, {n_cols}), the items")
    return values, indices, indptr


def csr_from_tensors(tensors: dict, n_items: int, prefix: str = "") -> Any:
    """The square (n_items, n_items) CSR matrix that :func:`csr_tensors` stored (checked)."""
    import scipy.sparse as sp

    parts = checked_csr_arrays(tensors, n_items, n_items, prefix)
    return sp.csr_matrix(parts, shape=(n_items, n_items))
