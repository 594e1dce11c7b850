"""The tutorial's configurations, their validation and the learning-rate schedule."""

from __future__ import annotations

import dataclasses

import pytest

from ptb_utils.config import CONFIGS, Config, describe, differences, get_config

TUTORIAL = {  # ptb_word_lm.py: small, medium, large, test
    "init_scale": (0.1, 0.05, 0.04, 0.1),
    "learning_rate": (1.0, 1.0, 1.0, 1.0),
    "max_grad_norm": (5, 5, 10, 1),
    "num_layers": (2, 2, 2, 1),
    "num_steps": (20, 35, 35, 2),
    "hidden_size": (200, 650, 1500, 2),
    "max_epoch": (4, 6, 14, 1),
    "max_max_epoch": (13, 39, 55, 1),
    "keep_prob": (1.0, 0.5, 0.35, 1.0),
    "lr_decay": (0.5, 0.8, 1 / 1.15, 0.5),
    "batch_size": (20, 20, 20, 20),
    "vocab_size": (10000, 10000, 10000, 10000),
}


def test_configs_are_the_tutorials():
    assert list(CONFIGS) == ["small", "medium", "large", "test"]
    for field, values in TUTORIAL.items():
        assert tuple(getattr(CONFIGS[n], field) for n in CONFIGS) == pytest.approx(values), field


def test_configs_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CONFIGS["small"].hidden_size = 10  # type: ignore[misc]


def test_overrides_are_applied_and_coerced():
    config = get_config("small", hidden_size=50.0, max_grad_norm=2)
    assert config.hidden_size == 50 and isinstance(config.hidden_size, int)
    assert config.max_grad_norm == 2.0 and CONFIGS["small"].hidden_size == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hiden_size": 10}, "unknown config field"),
        ({"hidden_size": 0}, "hidden_size must be a positive integer"),
        ({"num_steps": 2.5}, "num_steps must be a positive integer"),
        ({"keep_prob": 0.0}, "keep_prob"),
        ({"keep_prob": 1.5}, "keep_prob"),
        ({"learning_rate": -1}, "learning_rate must be a positive number"),
        ({"lr_decay": 2}, "lr_decay"),
        ({"keep_prob": "0.5"}, "keep_prob must be a finite number .*drop the quotes"),
        ({"lr_decay": None}, "lr_decay must be a finite number such as 0.5, got None"),
        ({"learning_rate": float("inf")}, "learning_rate must be a finite number"),
        ({"init_scale": True}, "init_scale must be a finite number"),
        ({"hidden_size": "8"}, "hidden_size must be a positive integer, got '8'"),
        ({"cell": "gru"}, "cell must be one of \\['lstm', 'rnn'\\], got 'gru'"),
        ({"cell": 1}, "cell must be one of"),
        ({"forget_bias": "1"}, "forget_bias must be a finite number .*drop the quotes"),
    ],
)
def test_bad_overrides_say_what_is_wrong(overrides, message):
    with pytest.raises(ValueError, match=message):
        get_config("small", **overrides)


def test_unknown_config_lists_the_names():
    with pytest.raises(ValueError, match="small"):
        get_config("tiny")


def test_learning_rate_schedule():
    small = CONFIGS["small"]  # constant for max_epoch = 4 epochs, then halved each epoch
    assert [small.lr_at(i) for i in range(7)] == [1, 1, 1, 1, 0.5, 0.25, 0.125]
    large = CONFIGS["large"]
    assert large.lr_at(13) == 1 and large.lr_at(14) == pytest.approx(1 / 1.15)
    assert large.lr_at(54) == pytest.approx(1.15**-41)
    with pytest.raises(ValueError):
        small.lr_at(-1)


def test_to_dict_round_trips():
    config = get_config("medium")
    assert Config(**config.to_dict()) == config


def test_describe_names_the_closest_config_and_what_differs():
    assert describe(CONFIGS["large"]) == "large"
    assert describe(get_config("test", hidden_size=8)) == "test with hidden_size=8"
    assert describe(get_config("medium", keep_prob=0.6)) == "medium with keep_prob=0.6"
    assert differences(CONFIGS["small"], get_config("small", num_steps=35, hidden_size=9)) == {
        "num_steps": (20, 35),
        "hidden_size": (200, 9),
    }


def test_the_books_fields_default_to_the_tutorials_model():
    # every configuration is the tutorial's LSTM with forget bias 0.0, and a run recorded
    # before these fields existed (a config dict without them) reads back as the same config
    for config in CONFIGS.values():
        assert (config.forget_bias, config.cell) == (0.0, "lstm")
        older = {k: v for k, v in config.to_dict().items() if k not in ("forget_bias", "cell")}
        assert Config(**older) == config
    variant = get_config("small", forget_bias=1, cell="rnn")
    assert variant.forget_bias == 1.0 and isinstance(variant.forget_bias, float)
    assert describe(variant) == "small with forget_bias=1, cell=rnn"
