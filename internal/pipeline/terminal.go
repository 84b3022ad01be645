package pipeline

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// terminalWidth returns the width of w when it is a terminal that can take
// cursor movement, and ok=false otherwise (a file, a pipe, TERM=dumb).
func terminalWidth(w io.Writer) (width int, ok bool) {
	f, isFile := w.(*os.File)
	if !isFile || os.Getenv("TERM") == "dumb" {
		return 0, false
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return 0, false
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 80, true
	}
	return int(ws.Col), true
}
