package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress renders pack.Progress as a bar on a terminal: bytes and files
// done, rate and time left. Off a terminal, or with --quiet, it is silent.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	files int
	total int
}

func newProgress(w io.Writer, quiet bool, files int, bytes int64) *progress {
	p := &progress{total: files}
	f, ok := w.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	p.bar = progressbar.NewOptions64(bytes,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription(fmt.Sprintf("files 0/%d", files)),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
	)
	return p
}

// Add is called by the formats after each file.
func (p *progress) Add(files int, bytes int64) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files += files
	p.bar.Describe(fmt.Sprintf("files %d/%d", p.files, p.total))
	p.bar.Add64(bytes)
}

// Done clears the bar.
func (p *progress) Done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
