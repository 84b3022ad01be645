import math

from shapes.geometry import area_circle


def test_area_circle():
    assert area_circle(2) == 4 * math.pi
