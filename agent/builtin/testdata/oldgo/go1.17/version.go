// Package oldgo is a small package whose go.mod names an old language
// version: the probe and the generated tests must compile under it.
package oldgo

import (
	"errors"
	"strconv"
	"strings"
)

// ErrSyntax is returned for a version that is not MAJOR.MINOR.
var ErrSyntax = errors.New("oldgo: version must be MAJOR.MINOR")

// Version is a two-part version number.
type Version struct {
	Major, Minor int
}

// Parse reads "1.2".
func Parse(s string) (*Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 2 {
		return nil, ErrSyntax
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return nil, ErrSyntax
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil {
		return nil, ErrSyntax
	}
	return &Version{Major: major, Minor: minor}, nil
}

// String writes v as "1.2".
func (v Version) String() string {
	return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor)
}

// Bump raises the minor number.
func (v *Version) Bump() {
	v.Minor++
}
