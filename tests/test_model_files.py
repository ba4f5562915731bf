"""Saved model files that are damaged or do not match: every case a clear error naming the file."""

import json
import shutil

import pytest
import torch

from gru4rec_study.models import (
    STAN,
    GRU4Rec,
    GRU4RecConfig,
    ItemKNN,
    Markov,
    Popularity,
    SequentialRules,
    SessionKNN,
    SessionPopularity,
    load_model,
)


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
        (_set("By", 3, float("nan")), "weight By has 1 values that are NaN, infinite"),
        (_set("w_hh.0", 0, float("inf")), "weight w_hh.0 has 1 values that are NaN, infinite"),
        (_set("Wy", 5, float("-inf")), "weight Wy has 1 values that are NaN, infinite"),
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


def test_weights_must_be_floats_and_fit_float32(copy):
    _edit_weights(copy, lambda t: t.update({"Wy": t["Wy"].to(torch.int64)}))
    with pytest.raises(ValueError, match=r"Wy has dtype torch\.int64; expected floats"):
        load_model(copy)
    _edit_weights(copy, lambda t: t.update({"Wy": t["Wy"].double().fill_(1e300)}))
    with pytest.raises(ValueError, match="beyond float32's range"):
        load_model(copy)


@pytest.mark.parametrize(
    "header",
    [{"format": 1, "config": {}}, {"format": 1, "model": "GRU4Rec", "config": None}],
    ids=["no-model", "null-config"],
)
def test_a_header_without_model_or_config_is_named(copy, header):
    (copy / "model.json").write_text(json.dumps(header))
    with pytest.raises(ValueError, match=r"model\.json: expected a model name and a config"):
        load_model(copy)


@pytest.mark.parametrize(
    "ids", [[1, 2, 3], [], [["a"]], None], ids=["numbers", "empty", "nested", "null"]
)
def test_item_ids_must_be_a_list_of_text(copy, ids):
    (copy / "items.json").write_text(json.dumps(ids))
    with pytest.raises(ValueError, match=r"items\.json: expected a non-empty list of item ids"):
        load_model(copy)


BASELINES = {
    "popularity": Popularity,
    "spop": SessionPopularity,
    "markov": Markov,
    "itemknn": ItemKNN,
    "sr": SequentialRules,
    "sknn": lambda: SessionKNN(k=10, sample_size=50),
    "stan": lambda: STAN(k=10, sample_size=50),
}


@pytest.fixture(scope="module", params=list(BASELINES))
def saved_baseline(request, bundled_slice, tmp_path_factory):
    train, _ = bundled_slice
    model = BASELINES[request.param]().fit(train)
    return request.param, model.save(tmp_path_factory.mktemp(request.param) / "m")


@pytest.fixture
def baseline(saved_baseline, tmp_path):
    kind, saved = saved_baseline
    target = tmp_path / kind
    shutil.copytree(saved, target)
    return kind, target


def test_a_baseline_with_fewer_item_ids_than_its_tensors_is_refused(baseline):
    _, directory = baseline
    ids = json.loads((directory / "items.json").read_text())
    (directory / "items.json").write_text(json.dumps(ids[:-10]))
    with pytest.raises(ValueError, match=str(directory)):
        load_model(directory)


def _first_float_tensor(tensors):
    return next(k for k, v in tensors.items() if v.is_floating_point() and v.numel())


def test_a_baseline_with_a_nan_is_refused(baseline):
    _, directory = baseline
    tensors = torch.load(directory / "weights.pt", weights_only=True)
    name = _first_float_tensor(tensors)
    _edit_weights(directory, _set(name, 0, float("nan")))
    with pytest.raises(ValueError, match=rf"{name}' has 1 NaN or infinite values"):
        load_model(directory)


@pytest.mark.parametrize("damage", ["index-too-large", "negative-index", "indptr-decreasing"])
def test_a_sparse_baseline_with_bad_indices_is_refused_not_crashed(baseline, damage):
    kind, directory = baseline
    tensors = torch.load(directory / "weights.pt", weights_only=True)
    prefixes = [k[: -len("indices")] for k in tensors if k.endswith("indices")]
    if not prefixes:
        pytest.skip(f"{kind} has no sparse matrix")
    prefix = prefixes[0]

    def change(t):
        if damage == "index-too-large":
            t[f"{prefix}indices"][0] = 10**6
        elif damage == "negative-index":
            t[f"{prefix}indices"][-1] = -1
        else:
            t[f"{prefix}indptr"][1] = t[f"{prefix}indptr"][-1] + 1

    _edit_weights(directory, change)
    with pytest.raises(ValueError, match=rf"{prefix}ind(ices|ptr)'"):
        load_model(directory)


def test_an_unknown_config_key_of_a_baseline_is_named(baseline):
    kind, directory = baseline
    header = json.loads((directory / "model.json").read_text())
    header["config"]["no_such_option"] = 1
    (directory / "model.json").write_text(json.dumps(header))
    with pytest.raises(ValueError, match=rf"{directory}.*no_such_option"):
        load_model(directory)


def test_only_models_that_ignore_click_positions_load_without_them(saved_baseline, tmp_path):
    kind, saved = saved_baseline
    if kind not in ("sknn", "stan"):
        pytest.skip("no click positions")
    directory = tmp_path / kind
    shutil.copytree(saved, directory)
    _edit_weights(directory, lambda t: t.pop("positions"))
    if kind == "sknn":  # older SKNN files have none; SKNN does not use them
        load_model(directory)
    else:
        with pytest.raises(ValueError, match=r"lack the tensor 'positions'"):
            load_model(directory)


@pytest.mark.parametrize("value", [0.0, -3.0, 2.5])
def test_click_positions_must_be_whole_numbers_from_one(baseline, value):
    kind, directory = baseline
    if kind not in ("sknn", "stan"):
        pytest.skip("no click positions")
    _edit_weights(directory, _set("positions", 0, value))
    with pytest.raises(ValueError, match="whole numbers from 1"):
        load_model(directory)


def test_half_precision_values_are_refused_by_name(baseline):
    kind, directory = baseline
    tensors = torch.load(directory / "weights.pt", weights_only=True)
    name = _first_float_tensor(tensors)
    _edit_weights(directory, lambda t: t.update({name: t[name].half()}))
    with pytest.raises(ValueError, match=rf"'{name}' has dtype torch.float16; expected float32"):
        load_model(directory)
