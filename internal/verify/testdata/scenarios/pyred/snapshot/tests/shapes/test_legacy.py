from shapes.legacy import old_area  # the module is gone: this file cannot be imported


def test_old_area():
    assert old_area(1) == 1
