"""The registry helper: duplicates refused, unknown names listed, order kept; and every registry
built on it answers an unknown name with UnknownName."""

from __future__ import annotations

import pickle

import pytest

from nasbench.core.registry import Registry
from nasbench.errors import ConfigError, NasbenchError, UnknownName


def test_register_directly_and_as_decorator() -> None:
    reg: Registry[object] = Registry("widget")
    assert reg.register("b", 2) == 2

    @reg.register("a")
    def a() -> int:
        return 1

    assert reg.get("a") is a and reg.get("b") == 2
    assert list(reg) == ["b", "a"] and reg.names() == ["a", "b"]  # registration order vs sorted
    assert list(reg.values()) == [2, a] and dict(reg.items()) == {"b": 2, "a": a}
    assert "a" in reg and "c" not in reg and ["unhashable"] not in reg and len(reg) == 2


def test_duplicates_are_refused_and_the_first_stays() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("a", 1)
    with pytest.raises(ValueError, match="widget 'a' is already registered"):
        reg.register("a", 2)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(3)
    assert reg.get("a") == 1


def test_unknown_name_is_one_sentence_listing_the_valid_names() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("b", 1)
    reg.register("a", 2)
    with pytest.raises(UnknownName) as e:
        reg.get("c")
    assert str(e.value) == "unknown widget 'c'; choose one of: a, b."
    assert isinstance(e.value, ConfigError) and isinstance(e.value, ValueError)
    assert (e.value.kind, e.value.name, e.value.choices) == ("widget", "c", ("a", "b"))
    with pytest.raises(UnknownName, match=r"^field 'widget\.name': unknown widget \['x'\]; choose"):
        reg.get(["x"], field="widget.name")  # type: ignore[arg-type]  # a list read from YAML


def test_unknown_name_survives_pickling() -> None:
    err = UnknownName("widget", "c", ["a", "b"], field="f")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is UnknownName and str(back) == str(err) and back.field == "f"


def _lookups() -> dict[str, tuple[object, str]]:
    from nasbench.data import load_dataset
    from nasbench.measure import get_measure
    from nasbench.measure.proxies import get_proxy
    from nasbench.nn.blocks import get_block
    from nasbench.search.samplers import create_sampler
    from nasbench.zoo import create_model

    return {
        "block type": (get_block, "residual"),
        "zoo model": (create_model, "resnet18"),
        "sampler": (lambda n: create_sampler(n, 0, {}, None), "tpe"),  # type: ignore[arg-type]
        "proxy": (get_proxy, "synflow"),
        "data set": (load_dataset, "digits"),
        "measure": (get_measure, "flops"),
    }


@pytest.mark.parametrize("kind", ["block type", "zoo model", "sampler", "proxy", "data set", "measure"])
def test_every_registry_raises_unknown_name(kind: str) -> None:
    lookup, valid = _lookups()[kind]
    with pytest.raises(UnknownName, match=rf"unknown {kind} 'nope'; choose one of: .*{valid}") as e:
        lookup("nope")
    assert isinstance(e.value, NasbenchError) and e.value.kind == kind
