from dataclasses import dataclass, field
from typing import Literal

import pytest

from auralab.config import dump_config, load_config, to_dict
from auralab.enhance.config import EnhanceConfig
from auralab.errors import ConfigError


@dataclass
class Inner:
    lr: float = 1e-3
    steps: int = 10
    kind: Literal["a", "b"] = "a"
    pair: tuple[float, float] = (0.0, 1.0)


@dataclass
class Outer:
    name: str = "x"
    dirs: list[str] = field(default_factory=list)
    inner: Inner = field(default_factory=Inner)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_toml_and_overrides_layer(tmp_path):
    path = write(tmp_path, "r.toml", 'name = "run"\n[inner]\nlr = 0.1\npair = [1, 2]\n')
    cfg = load_config(Outer, path, ["inner.steps=5", "inner.kind=b", 'dirs=["a", "b"]'])
    assert cfg == Outer(
        name="run", dirs=["a", "b"], inner=Inner(lr=0.1, steps=5, kind="b", pair=(1.0, 2.0))
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ("inner.lr=abc", r"config key inner.lr must be float, got 'abc'"),
        ("inner.steps=1.5", r"config key inner.steps must be int, got 1.5"),
        ("inner.kind=c", r"config key inner.kind='c'; choose one of 'a', 'b'"),
        (
            "inner.nope=1",
            r"config key inner.nope is unknown; known keys here: kind, lr, pair, steps",
        ),
        ("inner.pair=[1]", r"config key inner.pair needs 2 values, got 1"),
        ("lr", r"--set 'lr': write it as section.key=value"),
    ],
)
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(Outer, None, [override])


def test_extends_layers_recipes_and_dump_round_trips(tmp_path):
    write(tmp_path, "base.toml", 'name = "base"\n[inner]\nlr = 0.5\nsteps = 3\n')
    child = write(
        tmp_path, "child.toml", 'extends = "base.toml"\nname = "child"\n[inner]\nsteps = 7\n'
    )
    cfg = load_config(Outer, child)
    assert (cfg.name, cfg.inner.lr, cfg.inner.steps) == ("child", 0.5, 7)
    dump_config(cfg, tmp_path / "resolved.toml")
    assert load_config(Outer, tmp_path / "resolved.toml") == cfg


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.toml: no such config file"):
        load_config(Outer, tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        load_config(Outer, write(tmp_path, "bad.toml", "name = \n"))


def test_every_enhancement_recipe_resolves_to_a_known_model():
    from pathlib import Path

    from auralab.enhance.models import MODELS

    recipes = sorted((Path(__file__).parents[1] / "recipes" / "enhance").glob("*.toml"))
    assert len(recipes) >= 15
    for recipe in recipes:
        cfg = load_config(EnhanceConfig, recipe)
        assert cfg.model.name in MODELS, recipe
        assert to_dict(cfg)["task"] == "enhance"


def test_trainer_values_are_range_checked():
    with pytest.raises(ConfigError, match=r"trainer.max_steps=0 must be >= 1"):
        load_config(EnhanceConfig, None, ["trainer.max_steps=0"])
