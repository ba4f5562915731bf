"""Parameter spaces: the shipped ones fit their models; mistakes name the key and the file."""

import pytest

from gru4rec_study.experiments.config import ConfigError, ModelConfig
from gru4rec_study.experiments.spaces import check_space, default_space, load_space, shipped_spaces
from gru4rec_study.models import load_preset


def _space(tmp_path, params, model="sknn", fixed=""):
    path = tmp_path / "space.toml"
    path.write_text(f'model = "{model}"\n[fixed]\n{fixed}\n[params]\n{params}\n')
    return path


@pytest.mark.parametrize("name", shipped_spaces())
def test_every_shipped_space_fits_its_model(name):
    space = load_space(name)
    preset = "rsc15" if space.model == "gru4rec" else None
    check_space(space, ModelConfig(space.model, preset=preset), {})
    assert space.params and space.source.endswith(f"spaces/{name}.toml")


def test_the_gru4rec_spaces_follow_the_official_ranges():
    xe, bpr = load_space("gru4rec-xe"), load_space("gru4rec-bprmax")
    ranges = {p.name: p for p in xe.params}
    assert (ranges["layers"].low, ranges["layers"].high, ranges["layers"].step) == (64, 512, 32)
    assert ranges["learning_rate"].log and ranges["learning_rate"].corners() == [0.01, 0.25]
    assert ranges["dropout_p_hidden"].corners() == [0.0, 0.7]
    assert xe.fixed["loss"] == "cross-entropy" and xe.fixed["constrained_embedding"] is True
    assert bpr.fixed["loss"] == "bpr-max" and bpr.fixed["n_epochs"] == 10
    assert {p.name: p for p in bpr.params}["elu_param"].choices == (0.5, 1.0, 0.0)
    assert "bpreg" not in ranges and "logq" in ranges


def test_the_default_space_follows_the_kind_and_the_loss():
    assert default_space(ModelConfig("gru4rec"), load_preset("rsc15")) == "gru4rec-xe"
    assert default_space(ModelConfig("gru4rec"), load_preset("coveo")) == "gru4rec-bprmax"
    assert default_space(ModelConfig("vsknn")) == "vsknn"
    with pytest.raises(ConfigError, match="no shipped parameter space for model kind 'markov'"):
        default_space(ModelConfig("markov"))


def test_an_unknown_parameter_names_the_key_and_the_file(tmp_path):
    path = _space(tmp_path, 'neighbours = { type = "int", low = 1, high = 5 }')
    with pytest.raises(ConfigError, match=rf"{path}: params.neighbours: unknown parameter of sknn"):
        check_space(load_space(path), ModelConfig("sknn"), {})
    path = _space(tmp_path, 'k = { type = "int", low = 1, high = 5 }', fixed="shrink = 3")
    with pytest.raises(ConfigError, match=rf"{path}: fixed.shrink: unknown parameter"):
        check_space(load_space(path), ModelConfig("sknn"), {})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('{ type = "int", low = 9, high = 5 }', "low = 9 is above high = 5"),
        ('{ type = "int", low = 0, high = 5, log = true }', "a log scale needs low > 0"),
        ('{ type = "int", low = 1, high = 6, step = 2 }', "not a multiple of step = 2"),
        ('{ type = "int", low = 1.5, high = 6 }', "low must be an integer"),
        ('{ type = "int", low = 1, hi = 6 }', "unknown key 'hi'"),
        ('{ type = "range", low = 1, high = 6 }', "type = 'range' must be"),
        ('{ type = "categorical", choices = [] }', "choices must be a non-empty list"),
        ('{ type = "int", low = 0, high = 5 }', r"params.k = 0: .*must be >= 1"),
    ],
)
def test_a_bad_range_names_the_key_and_the_file(tmp_path, table, message):
    path = _space(tmp_path, f"k = {table}")
    with pytest.raises(ConfigError, match=rf"{path}: params.k.*{message}|{message}") as info:
        check_space(load_space(path), ModelConfig("sknn"), {})
    assert str(path) in str(info.value) and "params.k" in str(info.value)


def test_a_value_the_model_rejects_fails_before_training(tmp_path):
    path = _space(
        tmp_path, 'dropout_p_hidden = { type = "float", low = 0.0, high = 1.0 }', "gru4rec"
    )
    with pytest.raises(ConfigError, match=r"params.dropout_p_hidden = 1.0: .*must be in \[0, 1\)"):
        check_space(load_space(path), ModelConfig("gru4rec", preset="rsc15"), {})


def test_a_space_for_another_kind_or_a_clashing_override_is_an_error(tmp_path):
    path = _space(tmp_path, 'k = { type = "int", low = 1, high = 5 }')
    with pytest.raises(ConfigError, match="the space is for model kind 'sknn'"):
        check_space(load_space(path), ModelConfig("vsknn"), {})
    with pytest.raises(ConfigError, match="--param k: the space .* tunes it"):
        check_space(load_space(path), ModelConfig("sknn"), {"k": 3})
    with pytest.raises(ConfigError, match="no such space file"):
        load_space(tmp_path / "none.toml")
