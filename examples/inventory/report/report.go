// Package report formats numbers for the stock report: percentages, bars,
// padded columns and plurals.
package report

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Percent renders part of whole with one decimal: "12.5%"; "n/a" when whole
// is zero.
func Percent(part, whole int) string {
	if whole == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", float64(part)*100/float64(whole))
}

// Bar draws value out of total as a bar of width cells of '#' and '.'.
func Bar(value, total, width int) string {
	if width <= 0 {
		return ""
	}
	filled := 0
	if total > 0 && value > 0 {
		if value > total {
			value = total
		}
		filled = value * width / total
	}
	return strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
}

// Pad left-aligns s in width runes, cutting it with "…" when too long.
func Pad(s string, width int) string {
	n := utf8.RuneCountInString(s)
	switch {
	case width <= 0:
		return ""
	case n > width:
		r := []rune(s)
		return string(r[:width-1]) + "…"
	default:
		return s + strings.Repeat(" ", width-n)
	}
}

// Plural says "1 item", "2 items", "no items".
func Plural(n int, word string) string {
	switch n {
	case 0:
		return "no " + word + "s"
	case 1:
		return "1 " + word
	default:
		return fmt.Sprintf("%d %ss", n, word)
	}
}
