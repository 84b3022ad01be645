package report

import (
	"io"
	"os"

	"golang.org/x/term"
)

// terminalWidth returns the width of w when it is a terminal that can take
// cursor movement, and ok=false otherwise (a file, a pipe, TERM=dumb).
func terminalWidth(w io.Writer) (width int, ok bool) {
	f, isFile := w.(*os.File)
	if !isFile || os.Getenv("TERM") == "dumb" || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width == 0 {
		return 80, true
	}
	return width, true
}
