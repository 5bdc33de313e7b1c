package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress renders pack.Progress on a terminal, one line redrawn on a
// ticker: files and bytes read against the totals, bytes written, the
// rate and the time left. Off a terminal, or with --quiet, it is silent.
//
// The line is redrawn on a clock, not when a format reports, so that the
// time left keeps moving through a big file or a slow block; and once every
// file has been read it says "finishing" and shows the output still
// growing, since the compressors may hold the last blocks for a while (xz
// with 16 MiB blocks, zstd with 32 MiB jobs).
type progress struct {
	w     io.Writer
	width func() int // the terminal's
	start time.Time
	stop  chan struct{}
	done  chan struct{}

	mu    sync.Mutex
	state progressState
}

// progressState is what a line shows.
type progressState struct {
	files, totalFiles int
	in, totalIn       int64
	out               int64
}

// progressTick is how often the line is redrawn: often enough to look
// alive, rarely enough to cost nothing.
const progressTick = 200 * time.Millisecond

func newProgress(w io.Writer, quiet bool, files int, bytes int64) *progress {
	f, ok := w.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	fd := int(f.Fd())
	return startProgress(w, func() int {
		if width, _, err := term.GetSize(fd); err == nil && width > 0 {
			return width
		}
		return 80
	}, files, bytes)
}

// startProgress draws the line on w, width columns wide, until Done.
func startProgress(w io.Writer, width func() int, files int, bytes int64) *progress {
	p := &progress{w: w, width: width, start: time.Now(), state: progressState{totalFiles: files, totalIn: bytes},
		stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *progress) run() {
	defer close(p.done)
	t := time.NewTicker(progressTick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			fmt.Fprint(p.w, "\r\x1b[K")
			return
		case <-t.C:
			p.mu.Lock()
			s := p.state
			p.mu.Unlock()
			fmt.Fprint(p.w, "\r"+s.line(time.Since(p.start), p.width())+"\x1b[K")
		}
	}
}

// Add is called by the formats as they read. A silent progress counts too,
// which costs a lock: nothing next to reading the bytes.
func (p *progress) Add(files int, bytes int64) {
	p.mu.Lock()
	p.state.files += files
	p.state.in += bytes
	p.mu.Unlock()
}

// Wrote is called by the formats as they write.
func (p *progress) Wrote(bytes int64) {
	p.mu.Lock()
	p.state.out += bytes
	p.mu.Unlock()
}

// Done clears the line.
func (p *progress) Done() {
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.stop = nil
	}
}

// line renders s after elapsed, in at most width columns: the counts, then
// a bar in what room is left.
//
//	files 12/345  1.2 GiB/3.0 GiB  40%  out 420 MiB  35.0 MiB/s  58s left [====>     ]
//	finishing the last blocks: out 1.1 GiB  files 345/345 (3.0 GiB) read  1m27s
func (s progressState) line(elapsed time.Duration, width int) string {
	if s.files >= s.totalFiles && s.in >= s.totalIn {
		l := fmt.Sprintf("finishing the last blocks: out %s  files %d/%d (%s) read  %s",
			humanSize(s.out), s.files, s.totalFiles, humanSize(s.totalIn), clock(elapsed))
		return fit(l, width)
	}
	rate := float64(s.in) / max(elapsed.Seconds(), 1e-3)
	left := "--"
	if s.in > 0 {
		left = clock(time.Duration(float64(s.totalIn-s.in)/rate*float64(time.Second))) + " left"
	}
	frac := 1.0
	if s.totalIn > 0 {
		frac = min(float64(s.in)/float64(s.totalIn), 1)
	}
	l := fmt.Sprintf("files %d/%d  %s/%s %3.0f%%  out %s  %s/s  %s", s.files, s.totalFiles, humanSize(s.in), humanSize(s.totalIn),
		100*frac, humanSize(s.out), humanSize(int64(rate)), left)
	if room := width - len(l) - 4; room >= 10 {
		done := int(frac * float64(room))
		bar := strings.Repeat("=", done)
		if done < room {
			bar += ">" + strings.Repeat(" ", room-done-1)
		}
		l += " [" + bar + "]"
	}
	return fit(l, width)
}

// fit cuts a line to width columns, so that it never wraps (a wrapped
// line cannot be redrawn with \r).
func fit(l string, width int) string {
	if r := []rune(l); len(r) > width-1 {
		return string(r[:max(width-1, 0)])
	}
	return l
}

// clock shows a duration as 1h02m03s, 2m03s or 3s.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, sec)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}
