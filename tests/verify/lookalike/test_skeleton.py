"""Confusable skeletons and prototypes: look-alikes share a skeleton, different words do not."""

from __future__ import annotations

import pytest

from bot.verify.lookalike import prototype, skeleton


@pytest.mark.parametrize(
    ("lookalike", "original"),
    [
        ("northwіnd", "northwind"),  # Cyrillic і
        ("раураl", "paypal"),  # Cyrillic р, а, у
        ("rnicrosoft", "microsoft"),
        ("vvindows", "windows"),
        ("g00gle", "google"),
        ("app1e", "apple"),
        ("paypai", "paypal"),
        ("nοrthwind", "northwind"),  # Greek ο
        ("ｇｏｏｇｌｅ", "google"),  # fullwidth
        ("café", "cafe"),
    ],
)
def test_skeleton_folds_confusables(lookalike: str, original: str) -> None:
    assert lookalike != original
    assert skeleton(lookalike) == skeleton(original)


@pytest.mark.parametrize(("a", "b"), [("northwind", "northwend"), ("contoso", "contest")])
def test_skeleton_keeps_different_words_apart(a: str, b: str) -> None:
    assert skeleton(a) != skeleton(b)


def test_prototype_maps_one_character_for_one() -> None:
    assert prototype("nοrthwіnd") == "northwind"
    assert prototype("rnicrosoft") == "rnicrosoft"
    assert len(prototype("раураl")) == len("раураl")
