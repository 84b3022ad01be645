// Package pricing computes prices in integer cents: formatting, parsing,
// discounts, quantity tiers and tax.
package pricing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrPrice is returned (wrapped) for a price that cannot be read.
var ErrPrice = errors.New("pricing: bad price")

// Tier is a unit price that applies from MinQty units up.
type Tier struct {
	MinQty int
	Cents  int64
}

// FormatCents renders cents as a decimal amount: 1205 → "12.05".
func FormatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// ParseCents reads "12.05", "12.5", "12" or "-0.99" into cents.
func ParseCents(s string) (int64, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || (hasFrac && (frac == "" || len(frac) > 2)) {
		return 0, fmt.Errorf("%w: %q", ErrPrice, s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrPrice, s)
	}
	var f int64
	if hasFrac {
		if len(frac) == 1 {
			frac += "0"
		}
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return 0, fmt.Errorf("%w: %q", ErrPrice, s)
		}
	}
	c := w*100 + f
	if neg {
		c = -c
	}
	return c, nil
}

// Discount takes percent off, rounding half up to the cent.
func Discount(cents int64, percent float64) (int64, error) {
	if percent < 0 || percent > 100 {
		return 0, fmt.Errorf("pricing: discount %.1f%% is outside 0..100", percent)
	}
	off := int64(float64(cents)*percent/100 + 0.5)
	return cents - off, nil
}

// UnitPrice is the price of the highest tier whose MinQty the quantity
// reaches; tiers may come in any order. Zero when no tier applies.
func UnitPrice(quantity int, tiers []Tier) int64 {
	best, bestMin := int64(0), -1
	for _, t := range tiers {
		if quantity >= t.MinQty && t.MinQty > bestMin {
			best, bestMin = t.Cents, t.MinQty
		}
	}
	return best
}

// WithTax adds tax given in permille (200 = 20 %), rounding half up.
func WithTax(cents int64, ratePermille int) int64 {
	if ratePermille <= 0 {
		return cents
	}
	return cents + (cents*int64(ratePermille)+500)/1000
}
