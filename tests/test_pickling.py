"""Facts pickle field by field and come back equal; every model class does so."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from tests.helpers import FIXTURES, analyse
from unjam._speed.pickling import by_fields
from unjam.analysis import model
from unjam.analysis.model import Location, TypeRef

MODEL_CLASSES = [
    cls
    for _, cls in inspect.getmembers(model, inspect.isclass)
    if dataclasses.is_dataclass(cls) and cls.__module__ == model.__name__
]


def test_every_model_class_pickles_by_its_fields() -> None:
    assert len(MODEL_CLASSES) >= 10
    for cls in MODEL_CLASSES:
        assert cls.__getstate__.__qualname__.startswith("by_fields"), cls  # type: ignore[attr-defined]


def test_the_facts_of_the_demo_come_back_equal() -> None:
    analysis = analyse(FIXTURES / "apps" / "demo")
    facts = list(analysis.project.modules.values())
    assert facts
    again = pickle.loads(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == facts
    assert sum(len(f.functions) for f in again) > 5


def test_state_is_the_fields_in_order() -> None:
    ref = TypeRef("sqlalchemy.orm.Session", pending=True, ops=(".query()",))
    assert ref.__getstate__() == ("sqlalchemy.orm.Session", True, False, (".query()",))  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(ref)) == ref
    assert pickle.loads(pickle.dumps(Location(3, 4))) == Location(3, 4)


def test_one_field_and_no_field_classes() -> None:
    @by_fields
    @dataclasses.dataclass(frozen=True, slots=True)
    class One:
        value: int

    @by_fields
    @dataclasses.dataclass(frozen=True, slots=True)
    class Empty:
        pass

    assert One(5).__getstate__() == (5,)  # type: ignore[attr-defined]
    restored = One.__new__(One)
    restored.__setstate__((7,))  # type: ignore[attr-defined]
    assert restored == One(7)
    # nothing to read: the dataclasses module's own pair stays
    assert Empty.__getstate__.__qualname__.startswith("_dataclass")  # type: ignore[attr-defined]


def test_only_slotted_dataclasses_are_accepted() -> None:
    class Plain:
        pass

    with pytest.raises(TypeError, match="Plain is not a slotted dataclass"):
        by_fields(Plain)
