package sku

func A() int { return 1 }
