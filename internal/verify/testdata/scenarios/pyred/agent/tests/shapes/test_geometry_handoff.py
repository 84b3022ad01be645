def test_rect_area(rect):
    assert rect.area() == 6
