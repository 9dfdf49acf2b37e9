package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/spartan-messenger/spartan/internal/lineedit"
)

// terminal is where the CLI talks to its user: a prompt, lines typed, and
// lines printed at any time without mangling what is being typed.
type terminal interface {
	// Lines delivers each line typed, after Next asked for it; it is closed at
	// end of input (Ctrl-D, Ctrl-C, or the end of a pipe).
	Lines() <-chan input
	// Next shows the prompt and reads one more line.
	Next()
	// SetPrompt changes the prompt, redrawing it if it is showing.
	SetPrompt(prompt string)
	// Println prints a line above the prompt and what is typed after it.
	Println(line string)
	// Close releases the terminal.
	Close()
}

// input is one line typed.
type input struct {
	text string
	// promptChanged says the prompt changed while the line was half typed,
	// so the user began it as the answer to another question.
	promptChanged bool
}

// newTerminal returns a line editor when stdin is a terminal, and a plain
// line reader (which echoes what it reads, so a transcript reads like a
// session) when it is a pipe or a file.
func newTerminal(stdin io.Reader, stdout io.Writer) (terminal, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return newTTY(f, stdout)
	}
	return newPipe(stdin, stdout), nil
}

// tty is a terminal edited with lineedit: a printed line clears the input
// line, prints, and redraws the prompt with what was typed so far.
type tty struct {
	ed    *lineedit.Editor
	lines chan input
	next  chan struct{}
}

func newTTY(stdin *os.File, stdout io.Writer) (*tty, error) {
	ed, err := lineedit.New(stdin, stdout)
	if err != nil {
		return nil, fmt.Errorf("set up the terminal: %w", err)
	}
	t := &tty{ed: ed, lines: make(chan input), next: make(chan struct{}, 1)}
	go t.read()
	return t, nil
}

func (t *tty) read() {
	defer close(t.lines)
	for range t.next {
		line, err := t.ed.ReadLine()
		if err != nil { // io.EOF (Ctrl-D), lineedit.ErrInterrupt (Ctrl-C), or the terminal is gone
			return
		}
		t.lines <- input{text: line.Text, promptChanged: line.PromptChanged}
	}
}

func (t *tty) Lines() <-chan input { return t.lines }

func (t *tty) Next() {
	select {
	case t.next <- struct{}{}:
	default:
	}
}

func (t *tty) SetPrompt(prompt string) { t.ed.SetPrompt(prompt) }

func (t *tty) Println(line string) { t.ed.Println(line) }

// Close restores the terminal. A ReadLine still waiting for a key stays
// blocked in its read of stdin; the process is about to exit.
func (t *tty) Close() { _ = t.ed.Close() }

// pipe is a terminal on a pipe: prompts are printed without a newline, each
// line read is echoed after its prompt, and a line printed while a prompt
// shows goes on a line of its own, the prompt printed again after it.
type pipe struct {
	out   io.Writer
	lines chan input
	next  chan struct{}

	mu      sync.Mutex
	prompt  string
	showing bool
}

func newPipe(stdin io.Reader, stdout io.Writer) *pipe {
	p := &pipe{out: stdout, lines: make(chan input), next: make(chan struct{}, 1)}
	go p.read(bufio.NewReader(stdin))
	return p
}

func (p *pipe) read(r *bufio.Reader) {
	defer close(p.lines)
	for range p.next {
		line, err := r.ReadString('\n')
		if err != nil && (!errors.Is(err, io.EOF) || line == "") {
			p.mu.Lock()
			if p.showing {
				p.write("\n")
				p.showing = false
			}
			p.mu.Unlock()
			return
		}
		line = strings.TrimRight(line, "\r\n")
		p.mu.Lock()
		p.write(line + "\n")
		p.showing = false
		p.mu.Unlock()
		p.lines <- input{text: line}
	}
}

func (p *pipe) write(s string) { _, _ = io.WriteString(p.out, s) }

func (p *pipe) Lines() <-chan input { return p.lines }

func (p *pipe) Next() {
	p.mu.Lock()
	p.write(p.prompt)
	p.showing = true
	p.mu.Unlock()
	select {
	case p.next <- struct{}{}:
	default:
	}
}

func (p *pipe) SetPrompt(prompt string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.showing && prompt != p.prompt {
		p.write("\n" + prompt)
	}
	p.prompt = prompt
}

func (p *pipe) Println(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.showing {
		p.write("\n" + line + "\n" + p.prompt)
		return
	}
	p.write(line + "\n")
}

func (p *pipe) Close() {}
