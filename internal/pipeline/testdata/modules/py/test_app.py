def test_f():
    pass
