// Package shapes parses serial numbers: a parser that dispatches on the
// input's length and checks separators at fixed offsets, whose accepted
// shapes only its comments write out.
package shapes

import "errors"

// Serial is a parsed serial number.
type Serial struct{ Batch, Item int }

// Parse reads a serial number written nnnn-nnnnnn or, as older labels do,
// [nnnn/nnnnnn].
func Parse(s string) (Serial, error) {
	switch len(s) {
	case 11:
		if s[4] != '-' {
			return Serial{}, errors.New("shapes: want a dash after the batch")
		}
	case 13:
		if s[0] != '[' || s[12] != ']' || s[5] != '/' {
			return Serial{}, errors.New("shapes: want [batch/item]")
		}
		s = s[1:12]
	default:
		return Serial{}, errors.New("shapes: a serial has 11 characters, or 13 in brackets")
	}
	b, err := digits(s[:4])
	if err != nil {
		return Serial{}, err
	}
	i, err := digits(s[5:])
	if err != nil {
		return Serial{}, err
	}
	return Serial{Batch: b, Item: i}, nil
}

func digits(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("shapes: not a digit")
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}
