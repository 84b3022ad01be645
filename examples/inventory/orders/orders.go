// Package orders totals, checks and merges order lines.
package orders

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrEmpty is returned by Validate for an order without lines.
var ErrEmpty = errors.New("orders: no lines")

// Line is one item of an order.
type Line struct {
	SKU       string
	Quantity  int
	UnitCents int64
}

// Total is the sum of quantity × unit price.
func Total(lines []Line) int64 {
	var t int64
	for _, l := range lines {
		t += int64(l.Quantity) * l.UnitCents
	}
	return t
}

// Validate reports the first problem of an order: no lines, a line without
// SKU, a quantity below one or a negative price.
func Validate(lines []Line) error {
	if len(lines) == 0 {
		return ErrEmpty
	}
	for i, l := range lines {
		switch {
		case strings.TrimSpace(l.SKU) == "":
			return fmt.Errorf("orders: line %d has no SKU", i+1)
		case l.Quantity < 1:
			return fmt.Errorf("orders: line %d (%s): quantity %d is below 1", i+1, l.SKU, l.Quantity)
		case l.UnitCents < 0:
			return fmt.Errorf("orders: line %d (%s): negative price", i+1, l.SKU)
		}
	}
	return nil
}

// Merge combines lines with the same SKU (adding quantities, keeping the
// first price) and sorts the result by SKU.
func Merge(lines []Line) []Line {
	byCode := map[string]int{}
	var out []Line
	for _, l := range lines {
		if i, ok := byCode[l.SKU]; ok {
			out[i].Quantity += l.Quantity
			continue
		}
		byCode[l.SKU] = len(out)
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out
}

// ShippingCents prices a parcel by weight: 4.90 up to 1 kg, 1.50 per
// started kilogram beyond, doubled for express; free from 20 kg of standard
// freight (it goes by pallet).
func ShippingCents(weightGrams int, express bool) int64 {
	if weightGrams <= 0 {
		return 0
	}
	if weightGrams >= 20000 && !express {
		return 0
	}
	cost := int64(490)
	if extra := weightGrams - 1000; extra > 0 {
		cost += int64((extra+999)/1000) * 150
	}
	if express {
		cost *= 2
	}
	return cost
}
