from shapes.geometry import perimeter  # does not exist: the file cannot be imported


def test_perimeter():
    assert perimeter(1, 2) == 6
