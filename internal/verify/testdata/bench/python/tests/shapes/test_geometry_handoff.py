import pytest

from shapes.geometry import Rect, area_circle, clamp, classify


def test_area_circle_negative():
    with pytest.raises(ValueError):
        area_circle(-1)


@pytest.mark.parametrize("v,want", [(-1, 0), (2, 2), (9, 3)])
def test_clamp(v, want):
    assert clamp(v, 0, 3) == want


@pytest.mark.parametrize("n,want", [(-2, "negative"), (0, "zero"), (5, "positive")])
def test_classify(n, want):
    assert classify(n) == want


def test_rect_area():
    assert Rect(2, 3).area() == 6
