from __future__ import annotations

import pytest

from punkml.closing import Closeable


class _Handle(Closeable):
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_with_gives_the_object_and_closes_it_once_even_on_an_error() -> None:
    handle = _Handle()
    with handle as entered:
        assert entered is handle and handle.closed == 0
    assert handle.closed == 1
    with pytest.raises(RuntimeError), _Handle() as failing:
        raise RuntimeError("boom")
    assert failing.closed == 1  # the error still propagates


def test_a_subclass_must_say_how_it_closes() -> None:
    with pytest.raises(NotImplementedError), Closeable():
        pass
