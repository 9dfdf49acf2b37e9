package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/chzyer/readline"
	"golang.org/x/term"
)

// terminal is where the CLI talks to its user: a prompt, lines typed, and
// lines printed at any time without mangling what is being typed.
type terminal interface {
	// Lines delivers each line typed, after Next asked for it; it is closed at
	// end of input (Ctrl-D, Ctrl-C, or the end of a pipe).
	Lines() <-chan string
	// Next shows the prompt and reads one more line.
	Next()
	// SetPrompt changes the prompt, redrawing it if it is showing.
	SetPrompt(prompt string)
	// Println prints a line above the prompt and what is typed after it.
	Println(line string)
	// Close releases the terminal.
	Close()
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

// tty is a terminal edited with readline: a printed line clears the input
// line, prints, and redraws the prompt with what was typed so far.
type tty struct {
	rl    *readline.Instance
	in    io.Closer
	lines chan string
	next  chan struct{}
}

func newTTY(stdin *os.File, stdout io.Writer) (*tty, error) {
	// Cancelable, so that Close returns at once even while a Readline waits
	// for a key: when the server is gone the CLI exits without waiting for
	// Enter. readline wraps it in a reader whose Close does not reach it, so
	// tty.Close closes it itself.
	in := readline.NewCancelableStdin(stdin)
	rl, err := readline.NewEx(&readline.Config{
		Stdin:           in,
		Stdout:          stdout,
		HistoryLimit:    -1,
		InterruptPrompt: "^C",
		EOFPrompt:       "",
	})
	if err != nil {
		return nil, fmt.Errorf("set up the terminal: %w", err)
	}
	t := &tty{rl: rl, in: in, lines: make(chan string), next: make(chan struct{}, 1)}
	go t.read()
	return t, nil
}

func (t *tty) read() {
	defer close(t.lines)
	for range t.next {
		line, err := t.rl.Readline()
		if err != nil { // io.EOF (Ctrl-D) or readline.ErrInterrupt (Ctrl-C)
			return
		}
		t.lines <- line
	}
}

func (t *tty) Lines() <-chan string { return t.lines }

func (t *tty) Next() {
	select {
	case t.next <- struct{}{}:
	default:
	}
}

func (t *tty) SetPrompt(prompt string) {
	t.rl.SetPrompt(prompt)
	t.rl.Refresh()
}

func (t *tty) Println(line string) {
	_, _ = fmt.Fprintln(t.rl.Stdout(), line)
}

func (t *tty) Close() {
	_ = t.in.Close()
	_ = t.rl.Close()
}

// pipe is a terminal on a pipe: prompts are printed without a newline, each
// line read is echoed after its prompt, and a line printed while a prompt
// shows goes on a line of its own, the prompt printed again after it.
type pipe struct {
	out   io.Writer
	lines chan string
	next  chan struct{}

	mu      sync.Mutex
	prompt  string
	showing bool
}

func newPipe(stdin io.Reader, stdout io.Writer) *pipe {
	p := &pipe{out: stdout, lines: make(chan string), next: make(chan struct{}, 1)}
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
		p.lines <- line
	}
}

func (p *pipe) write(s string) { _, _ = io.WriteString(p.out, s) }

func (p *pipe) Lines() <-chan string { return p.lines }

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
