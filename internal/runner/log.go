package runner

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/handoff-dev/handoff/internal/redact"
)

// maxLog caps an agent log file; agents can be chatty and a runaway one must
// not fill the disk.
const maxLog = 8 << 20

// cappedLog appends to a file up to a limit, then notes the truncation once.
// What reaches the file is redacted, line by line. Safe for concurrent
// writers.
type cappedLog struct {
	mu        sync.Mutex
	f         *os.File
	w         io.Writer // the file, through the redactor
	left      int64
	truncated bool
}

func openLog(path string) (*cappedLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &cappedLog{f: f, w: redact.NewWriter(f), left: maxLog - fi.Size()}, nil
}

func (l *cappedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.left <= 0 {
		if !l.truncated {
			l.truncated = true
			fmt.Fprintf(l.f, "\n[handoff: log truncated at %d bytes]\n", maxLog)
		}
		return len(p), nil
	}
	q := p
	if int64(len(q)) > l.left {
		q = q[:l.left]
	}
	n, err := l.w.Write(q)
	l.left -= int64(n)
	if err != nil {
		return n, err
	}
	return len(p), nil
}

// Printf writes a handoff line into the log.
func (l *cappedLog) Printf(format string, args ...any) {
	fmt.Fprintf(l, "[handoff] "+format+"\n", args...)
}

func (l *cappedLog) Close() error {
	_ = l.w.(*redact.Writer).Flush()
	return l.f.Close()
}
