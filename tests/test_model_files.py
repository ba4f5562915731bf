"""Saved model files that are damaged or do not match: every case a clear error naming the file."""

import json
import shutil

import pytest
import torch

from gru4rec_study.models import GRU4Rec, GRU4RecConfig, load_model


@pytest.fixture(scope="module")
def saved(bundled_slice, tmp_path_factory):
    train, _ = bundled_slice
    config = GRU4RecConfig(layers=(8,), batch_size=16, n_sample=16, n_epochs=1)
    return GRU4Rec(config).fit(train).save(tmp_path_factory.mktemp("model") / "m")


@pytest.fixture
def copy(saved, tmp_path):
    target = tmp_path / "m"
    shutil.copytree(saved, target)
    return target


def _edit_weights(directory, change):
    path = directory / "weights.pt"
    tensors = torch.load(path, weights_only=True)
    change(tensors)
    torch.save(tensors, path)


def _set(name, index, value):
    def change(tensors):
        tensors[name].view(-1)[index] = value

    return change


def test_an_intact_copy_loads(copy, saved):
    model, original = load_model(copy), load_model(saved)
    for name, tensor in original.state_tensors().items():
        torch.testing.assert_close(model.state_tensors()[name], tensor, rtol=0, atol=0)


@pytest.mark.parametrize(
    "content", [b"", b"PK\x03\x04 not really a zip", None], ids=["empty", "foreign", "truncated"]
)
def test_an_unreadable_weights_file_is_named(copy, content):
    path = copy / "weights.pt"
    path.write_bytes(path.read_bytes()[:4000] if content is None else content)
    with pytest.raises(ValueError, match=r"weights\.pt: not a readable weights file"):
        load_model(copy)


@pytest.mark.parametrize(
    "change, message",
    [
        (_set("By", 3, float("nan")), "weight By has 1 NaN or infinite values"),
        (_set("w_hh.0", 0, float("inf")), "weight w_hh.0 has 1 NaN or infinite values"),
        (_set("Wy", 5, float("-inf")), "weight Wy has 1 NaN or infinite values"),
    ],
    ids=["nan-bias", "inf-recurrent", "minus-inf-item"],
)
def test_weights_that_are_not_finite_are_refused(copy, change, message):
    _edit_weights(copy, change)
    with pytest.raises(ValueError, match=message) as error:
        load_model(copy)
    assert str(copy) in str(error.value)


def test_a_weight_of_another_shape_is_named(copy):
    _edit_weights(copy, lambda t: t.update({"w_hh.0": t["w_hh.0"][:, :10].clone()}))
    with pytest.raises(ValueError, match=r"w_hh\.0 has shape \(8, 10\).* give \(8, 24\)"):
        load_model(copy)


def test_item_tables_must_have_a_row_per_item_of_the_item_map(copy):
    ids = json.loads((copy / "items.json").read_text())
    (copy / "items.json").write_text(json.dumps(ids[:-3]))
    with pytest.raises(ValueError, match=rf"Wy has shape \({len(ids)}, 8\).*{len(ids) - 3} items"):
        load_model(copy)


def test_missing_and_unexpected_tensors_are_named(copy):
    _edit_weights(copy, lambda t: t.update({"E": torch.zeros(3, 2)}))
    with pytest.raises(ValueError, match=r"tensors the config does not use: \['E'\]"):
        load_model(copy)
    _edit_weights(copy, lambda t: (t.pop("E"), t.pop("b_hh.0")))
    with pytest.raises(ValueError, match=r"lack \['b_hh\.0'\]"):
        load_model(copy)


@pytest.mark.parametrize("name", ["items.json", "weights.pt"])
def test_a_missing_file_is_named(copy, name):
    (copy / name).unlink()
    with pytest.raises(FileNotFoundError, match=f"lacks {name}"):
        load_model(copy)


@pytest.mark.parametrize("name", ["model.json", "items.json"])
def test_unreadable_json_is_named(copy, name):
    (copy / name).write_text("{")
    with pytest.raises(ValueError, match=rf"{name}: not valid JSON"):
        load_model(copy)


def test_repeated_item_ids_are_named(copy):
    ids = json.loads((copy / "items.json").read_text())
    (copy / "items.json").write_text(json.dumps([ids[0], *ids[1:-1], ids[0]]))
    with pytest.raises(ValueError, match=r"items\.json: .*unique"):
        load_model(copy)
