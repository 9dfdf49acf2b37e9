// Package lineedit is a small line editor for a chat on a terminal: a prompt
// that may change at any time, editing keys, Up/Down history, and lines
// printed above the input line from another goroutine without mangling what
// is being typed.
//
// It exists because the editors we tried redraw the whole line for every
// key, which makes pasting a long line quadratic (10,000 characters took 8 s
// in chzyer/readline), or cap a line at 4,096 characters (golang.org/x/term).
// This one handles every key of a read and then draws once, and appending at
// the end of the line writes only what was added, so a paste costs time in
// proportion to its length.
package lineedit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"unicode"

	"github.com/mattn/go-runewidth"
	"golang.org/x/term"
)

// ErrInterrupt is what ReadLine returns when the user presses Ctrl-C.
var ErrInterrupt = errors.New("interrupted")

// maxHistory is how many lines Up and Down can recall.
const maxHistory = 1000

// Line is one line the user entered.
type Line struct {
	// Text is what was typed.
	Text string
	// PromptChanged says that the prompt changed while this line was half
	// typed: the user began it as an answer to another question.
	PromptChanged bool
}

// Editor edits lines on a terminal. ReadLine is called from one goroutine;
// SetPrompt and Println may be called from any goroutine at any time.
type Editor struct {
	in      *os.File
	out     io.Writer
	restore *term.State
	winch   chan os.Signal
	stopped chan struct{}

	mu      sync.Mutex
	prompt  string
	buf     []rune
	pos     int  // cursor position in buf
	showing bool // the prompt and buf are on screen
	row     int  // screen row of the cursor, counted from the prompt's first row
	cols    int
	changed bool // the prompt changed while buf held text
	closed  bool

	history []string
	histPos int    // index into history while browsing; len(history) when not
	saved   string // the line being typed when browsing began

	pending []byte // input read but not yet decoded (a cut escape or rune)
	lastCR  bool   // the last key was a CR: an LF right after it is the same Enter
}

// New puts the terminal in (raw) in raw mode and returns an editor that draws
// on out. Close restores the terminal.
func New(in *os.File, out io.Writer) (*Editor, error) {
	fd := int(in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("put the terminal in raw mode: %w", err)
	}
	e := &Editor{
		in: in, out: out, restore: state,
		winch: make(chan os.Signal, 1), stopped: make(chan struct{}),
		cols: 80,
	}
	e.readSize()
	signal.Notify(e.winch, syscall.SIGWINCH)
	go e.resizes()
	return e, nil
}

// readSize takes the terminal's width; e.mu is held or e is not shared yet.
func (e *Editor) readSize() {
	if w, _, err := term.GetSize(int(e.in.Fd())); err == nil && w > 0 {
		e.cols = w
	}
}

// resizes redraws the input line when the terminal's width changes.
func (e *Editor) resizes() {
	for {
		select {
		case <-e.stopped:
			return
		case <-e.winch:
			e.mu.Lock()
			e.readSize()
			if e.showing {
				e.redraw()
			}
			e.mu.Unlock()
		}
	}
}

// Close restores the terminal. An input line still showing is cleared, so
// the last line on screen is the last one printed.
func (e *Editor) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	signal.Stop(e.winch)
	close(e.stopped)
	if e.showing {
		e.write(e.clear())
		e.showing = false
	}
	if err := term.Restore(int(e.in.Fd()), e.restore); err != nil {
		return fmt.Errorf("restore the terminal: %w", err)
	}
	return nil
}

// SetPrompt changes the prompt, redrawing it at once if it is showing.
func (e *Editor) SetPrompt(prompt string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if prompt == e.prompt {
		return
	}
	e.prompt = prompt
	if len(e.buf) > 0 {
		e.changed = true
	}
	if e.showing {
		e.redraw()
	}
}

// Println prints line (which may hold newlines) above the input line; the
// prompt and what is typed are drawn again below it.
func (e *Editor) Println(line string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	var s strings.Builder
	if e.showing {
		s.WriteString(e.clear())
	}
	s.WriteString(strings.ReplaceAll(line, "\n", "\r\n"))
	s.WriteString("\r\n")
	if e.showing {
		s.WriteString(e.draw())
	}
	e.write(s.String())
}

// ReadLine shows the prompt and returns the line typed when the user presses
// Enter. It returns io.EOF on Ctrl-D at an empty line, ErrInterrupt on Ctrl-C,
// and the read error when the input fails or ends.
func (e *Editor) ReadLine() (Line, error) {
	e.mu.Lock()
	e.showing = true
	e.redraw()
	e.mu.Unlock()
	chunk := make([]byte, 16<<10)
	for {
		e.mu.Lock()
		line, err, done := e.feed()
		e.mu.Unlock()
		if done {
			return line, err
		}
		n, err := e.in.Read(chunk)
		e.mu.Lock()
		e.pending = append(e.pending, chunk[:n]...)
		if err != nil && n == 0 {
			e.finishLine()
			e.mu.Unlock()
			return Line{}, fmt.Errorf("read the terminal: %w", err)
		}
		e.mu.Unlock()
	}
}

// feed handles the keys in e.pending until a line is done or input runs out;
// it then draws the result once. e.mu is held.
func (e *Editor) feed() (Line, error, bool) {
	var out strings.Builder
	full := false // the whole line must be redrawn
	defer func() {
		if e.showing && full {
			e.redraw()
		} else if out.Len() > 0 {
			e.write(out.String())
		}
	}()
	for len(e.pending) > 0 {
		k, n := nextKey(e.pending)
		if n == 0 {
			break // the rest of a key is still to come
		}
		b0 := e.pending[0]
		e.pending = e.pending[n:]
		if b0 == '\n' && e.lastCR {
			e.lastCR = false
			continue // CR LF is one Enter
		}
		e.lastCR = b0 == '\r'
		switch k.act {
		case actNone:
		case actInsert:
			if unicode.IsControl(k.char) {
				k.char = '\uFFFD' // a C1 control would act on the terminal
			}
			if e.pos == len(e.buf) && !full {
				// Appending: write only the new rune.
				e.buf = append(e.buf, k.char)
				e.pos++
				out.WriteString(e.appended(k.char))
			} else {
				e.buf = slices.Insert(e.buf, e.pos, k.char)
				e.pos++
				full = true
			}
		case actEnter:
			if full {
				e.redraw()
				full = false
			}
			e.write(out.String())
			out.Reset()
			return e.enter(), nil, true
		case actInterrupt, actEOF:
			if k.act == actEOF && len(e.buf) > 0 {
				if e.pos < len(e.buf) {
					e.buf = slices.Delete(e.buf, e.pos, e.pos+1)
					full = true
				}
				continue
			}
			if full {
				e.redraw()
				full = false
			}
			e.write(out.String())
			out.Reset()
			e.finishLine()
			if k.act == actInterrupt {
				return Line{}, ErrInterrupt, true
			}
			return Line{}, io.EOF, true
		default:
			if e.edit(k.act) {
				full = true
			}
		}
	}
	return Line{}, nil, false
}

// edit applies an editing action and says whether the line must be redrawn.
func (e *Editor) edit(act action) bool {
	switch act {
	case actBackspace:
		if e.pos == 0 {
			return false
		}
		e.buf = slices.Delete(e.buf, e.pos-1, e.pos)
		e.pos--
	case actDelete:
		if e.pos == len(e.buf) {
			return false
		}
		e.buf = slices.Delete(e.buf, e.pos, e.pos+1)
	case actLeft:
		e.pos = max(e.pos-1, 0)
	case actRight:
		e.pos = min(e.pos+1, len(e.buf))
	case actWordLeft:
		for e.pos > 0 && unicode.IsSpace(e.buf[e.pos-1]) {
			e.pos--
		}
		for e.pos > 0 && !unicode.IsSpace(e.buf[e.pos-1]) {
			e.pos--
		}
	case actWordRight:
		for e.pos < len(e.buf) && unicode.IsSpace(e.buf[e.pos]) {
			e.pos++
		}
		for e.pos < len(e.buf) && !unicode.IsSpace(e.buf[e.pos]) {
			e.pos++
		}
	case actHome:
		e.pos = 0
	case actEnd:
		e.pos = len(e.buf)
	case actKillToEnd:
		e.buf = e.buf[:e.pos]
	case actKillToStart:
		e.buf = slices.Delete(e.buf, 0, e.pos)
		e.pos = 0
	case actKillWord:
		start := e.pos
		for start > 0 && unicode.IsSpace(e.buf[start-1]) {
			start--
		}
		for start > 0 && !unicode.IsSpace(e.buf[start-1]) {
			start--
		}
		e.buf = slices.Delete(e.buf, start, e.pos)
		e.pos = start
	case actUp:
		if e.histPos == 0 {
			return false
		}
		if e.histPos == len(e.history) {
			e.saved = string(e.buf)
		}
		e.histPos--
		e.setLine(e.history[e.histPos])
	case actDown:
		if e.histPos >= len(e.history) {
			return false
		}
		e.histPos++
		if e.histPos == len(e.history) {
			e.setLine(e.saved)
		} else {
			e.setLine(e.history[e.histPos])
		}
	case actClear:
		e.write("\x1b[H\x1b[2J")
		e.row = 0
	default:
		return false
	}
	if len(e.buf) == 0 {
		e.changed = false // what is typed from now on answers the prompt shown
	}
	return true
}

// setLine replaces the line being edited, the cursor at its end.
func (e *Editor) setLine(s string) {
	e.buf = []rune(s)
	e.pos = len(e.buf)
}

// enter ends the line: the cursor goes below it, and it joins the history.
func (e *Editor) enter() Line {
	line := Line{Text: string(e.buf), PromptChanged: e.changed}
	e.finishLine()
	if line.Text != "" && (len(e.history) == 0 || e.history[len(e.history)-1] != line.Text) {
		e.history = append(e.history, line.Text)
		if len(e.history) > maxHistory {
			e.history = slices.Delete(e.history, 0, len(e.history)-maxHistory)
		}
	}
	e.histPos = len(e.history)
	return line
}

// finishLine leaves the prompt and the line on screen, moves to the next
// screen line and starts an empty line.
func (e *Editor) finishLine() {
	if e.showing {
		end := e.promptWidth() + width(e.buf)
		var s strings.Builder
		if down := end/e.cols - e.row; down > 0 {
			fmt.Fprintf(&s, "\x1b[%dB", down)
		}
		if end > 0 && end%e.cols == 0 {
			s.WriteString("\r") // draw left the cursor on a fresh row already
		} else {
			s.WriteString("\r\n")
		}
		e.write(s.String())
	}
	e.showing = false
	e.buf, e.pos, e.row, e.changed = e.buf[:0], 0, 0, false
	e.histPos = len(e.history)
}

// appended writes the rune just added at the end of the line; the cursor is
// at the line's end.
func (e *Editor) appended(r rune) string {
	end := e.promptWidth() + width(e.buf)
	e.row = end / e.cols
	if end%e.cols == 0 {
		return string(r) + "\r\n" // leave the pending wrap: the cursor goes to the next row
	}
	return string(r)
}

// redraw draws the prompt and the line again in place. e.mu is held.
func (e *Editor) redraw() { e.write(e.clear() + e.draw()) }

// clear moves the cursor to the prompt's first row and erases from there to
// the end of the screen.
func (e *Editor) clear() string {
	var s strings.Builder
	if e.row > 0 {
		fmt.Fprintf(&s, "\x1b[%dA", e.row)
	}
	s.WriteString("\r\x1b[J")
	e.row = 0
	return s.String()
}

// draw writes the prompt and the line from the start of a cleared row and
// puts the cursor at e.pos.
func (e *Editor) draw() string {
	var s strings.Builder
	s.WriteString(e.prompt)
	s.WriteString(string(e.buf))
	pw := e.promptWidth()
	end := pw + width(e.buf)
	if end > 0 && end%e.cols == 0 {
		s.WriteString("\r\n")
	}
	at := pw + width(e.buf[:e.pos])
	row, col := at/e.cols, at%e.cols
	if at == end {
		e.row = row
		return s.String() // the cursor is where it belongs already
	}
	if up := end/e.cols - row; up > 0 {
		fmt.Fprintf(&s, "\x1b[%dA", up)
	}
	s.WriteString("\r")
	if col > 0 {
		fmt.Fprintf(&s, "\x1b[%dC", col)
	}
	e.row = row
	return s.String()
}

func (e *Editor) promptWidth() int { return runewidth.StringWidth(e.prompt) }

func (e *Editor) write(s string) {
	if s != "" {
		_, _ = io.WriteString(e.out, s)
	}
}

// width is the number of terminal columns runes take.
func width(runes []rune) int {
	w := 0
	for _, r := range runes {
		w += runewidth.RuneWidth(r)
	}
	return w
}
