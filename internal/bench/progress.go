package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress shows what the bench is doing on a terminal: one line, redrawn;
// elsewhere (a pipe, a log) only one line per finished phase.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	width int // of the line drawn last
}

func newProgress(w io.Writer, tty bool) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, tty: tty}
}

// update redraws the line: label, a bar of elapsed over total, and the
// messages delivered so far.
func (p *progress) update(label string, elapsed, total time.Duration, delivered int64) {
	if !p.tty {
		return
	}
	const barWidth = 24
	frac := 0.0
	if total > 0 {
		frac = min(float64(elapsed)/float64(total), 1)
	}
	filled := int(frac * barWidth)
	line := fmt.Sprintf("%s [%s%s] %4.1f/%.0fs %d msgs", label, strings.Repeat("=", filled), strings.Repeat(" ", barWidth-filled),
		elapsed.Seconds(), total.Seconds(), delivered)
	p.draw(line, false)
}

// done ends a phase with a line that stays.
func (p *progress) done(line string) { p.draw(line, true) }

// note is a line that stays, outside any phase.
func (p *progress) note(line string) { p.draw(line, true) }

func (p *progress) draw(line string, keep bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		if keep {
			_, _ = fmt.Fprintln(p.w, line)
		}
		return
	}
	pad := max(p.width-len(line), 0)
	_, _ = fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
	if keep {
		_, _ = fmt.Fprintln(p.w)
		p.width = 0
	}
}
