// Package sku parses and formats stock-keeping unit codes such as
// "TEE-0042-M": a product family, a four-digit number and a size.
package sku

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrFormat is returned (wrapped) for a code that is not FAMILY-NNNN-SIZE.
var ErrFormat = errors.New("sku: malformed code")

// Code is a parsed stock-keeping unit.
type Code struct {
	Family string // two to four letters
	Number int    // 1..9999
	Size   string // one of Sizes
}

// Sizes lists the sizes a code may carry, smallest first.
var Sizes = []string{"XS", "S", "M", "L", "XL", "XXL"}

// Parse reads a code, tolerating lower case and surrounding spaces.
func Parse(s string) (Code, error) {
	parts := strings.Split(Normalize(s), "-")
	if len(parts) != 3 {
		return Code{}, fmt.Errorf("%w: %q has %d parts, want 3", ErrFormat, s, len(parts))
	}
	family, num, size := parts[0], parts[1], parts[2]
	if len(family) < 2 || len(family) > 4 || strings.Trim(family, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return Code{}, fmt.Errorf("%w: family %q must be 2 to 4 letters", ErrFormat, family)
	}
	n, err := strconv.Atoi(num)
	if err != nil || len(num) != 4 || n < 1 {
		return Code{}, fmt.Errorf("%w: number %q must be four digits, not 0000", ErrFormat, num)
	}
	if !ValidSize(size) {
		return Code{}, fmt.Errorf("%w: unknown size %q", ErrFormat, size)
	}
	return Code{Family: family, Number: n, Size: size}, nil
}

// String formats the code in its canonical form.
func (c Code) String() string {
	return fmt.Sprintf("%s-%04d-%s", c.Family, c.Number, c.Size)
}

// Normalize upper-cases a code, trims it and turns spaces and underscores
// into dashes.
func Normalize(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "-", "_", "-").Replace(s)
}

// ValidSize reports whether size is one of Sizes.
func ValidSize(size string) bool {
	for _, s := range Sizes {
		if s == size {
			return true
		}
	}
	return false
}

// CheckDigit computes a mod-10 check digit over the digits of n, weighting
// them 3 and 1 alternately from the right, as EAN barcodes do.
func CheckDigit(n int) int {
	if n < 0 {
		n = -n
	}
	sum, weight := 0, 3
	for n > 0 {
		sum += (n % 10) * weight
		n /= 10
		weight = 4 - weight
	}
	return (10 - sum%10) % 10
}

// Larger reports whether size a is larger than size b; unknown sizes are
// smaller than every known one.
func Larger(a, b string) bool {
	return sizeRank(a) > sizeRank(b)
}

func sizeRank(size string) int {
	for i, s := range Sizes {
		if s == size {
			return i
		}
	}
	return -1
}
