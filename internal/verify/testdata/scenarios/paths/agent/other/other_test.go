package other

import "testing"

func TestElsewhere(t *testing.T) { t.Fatal("outside the output area") }
