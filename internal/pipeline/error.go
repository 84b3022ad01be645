package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every error saying a pipeline file is
// wrong. Nothing has run when it is returned.
var ErrInvalid = errors.New("invalid pipeline")

// Problem is one thing wrong with a pipeline file, at a line.
type Problem struct {
	File    string
	Line    int // 1-based; 0 when the problem has no single place
	Column  int
	Message string // what is wrong and how to fix it
}

func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	default:
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	}
}

// InvalidError lists every problem found in a pipeline file, in line order.
// It matches ErrInvalid.
type InvalidError struct {
	Problems []Problem
}

func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// problems collects Problems while a file is read.
type problems struct {
	file string
	list []Problem
}

func (ps *problems) add(line, col int, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sort.SliceStable(ps.list, func(i, j int) bool {
		if ps.list[i].Line != ps.list[j].Line {
			return ps.list[i].Line < ps.list[j].Line
		}
		return ps.list[i].Column < ps.list[j].Column
	})
	return &InvalidError{Problems: ps.list}
}
