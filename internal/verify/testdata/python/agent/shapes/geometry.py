"""Small geometry helpers the verification tests generate tests for."""
import math


def area_circle(r):
    if r < 0:
        raise ValueError("negative radius")
    return math.pi * r * r


def clamp(v, lo, hi):
    # "fixed" by the fixture agent to make its wrong test pass
    return v


def classify(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"


class Rect:
    def __init__(self, w, h):
        self.w = w
        self.h = h

    def area(self):
        return self.w * self.h
