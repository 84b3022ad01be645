import pytest

from shapes.geometry import Rect


@pytest.fixture
def rect():
    return Rect(2, 3)
