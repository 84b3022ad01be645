// Package stock tracks how much of an item is on hand, reserved and due for
// reordering.
package stock

import (
	"errors"
	"fmt"
	"math"
)

// ErrInsufficient is returned (wrapped) when a reservation exceeds what is
// available.
var ErrInsufficient = errors.New("stock: not enough available")

// Level is the stock of one item.
type Level struct {
	OnHand       int // units in the warehouse
	Reserved     int // units promised to open orders
	ReorderPoint int // reorder when available falls to this
}

// Available is what can still be promised.
func (l Level) Available() int {
	if a := l.OnHand - l.Reserved; a > 0 {
		return a
	}
	return 0
}

// Reserve promises n more units.
func (l Level) Reserve(n int) (Level, error) {
	if n <= 0 {
		return l, fmt.Errorf("stock: reserve %d: quantity must be positive", n)
	}
	if n > l.Available() {
		return l, fmt.Errorf("%w: want %d, have %d", ErrInsufficient, n, l.Available())
	}
	l.Reserved += n
	return l, nil
}

// Release returns up to n reserved units to availability.
func (l Level) Release(n int) Level {
	if n > l.Reserved {
		n = l.Reserved
	}
	if n > 0 {
		l.Reserved -= n
	}
	return l
}

// Status is "out", "low" or "ok".
func Status(l Level) string {
	switch a := l.Available(); {
	case a == 0:
		return "out"
	case a <= l.ReorderPoint:
		return "low"
	default:
		return "ok"
	}
}

// ReorderPoint is the demand over the lead time plus safety stock, rounded
// up.
func ReorderPoint(dailyDemand float64, leadDays, safetyStock int) int {
	if dailyDemand < 0 || leadDays < 0 || safetyStock < 0 {
		return 0
	}
	return int(math.Ceil(dailyDemand*float64(leadDays))) + safetyStock
}

// DaysOfCover is how many days the stock on hand lasts at the given demand;
// -1 means forever (no demand).
func DaysOfCover(onHand int, dailyDemand float64) float64 {
	if dailyDemand <= 0 {
		return -1
	}
	if onHand <= 0 {
		return 0
	}
	return math.Floor(float64(onHand)/dailyDemand*10) / 10
}
