package lineedit_test

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/spartan-messenger/spartan/internal/clitest"
	"github.com/spartan-messenger/spartan/internal/lineedit"
)

const wait = 10 * time.Second

// term is an editor on the slave side of a pseudo-terminal; the test types
// into the master side and reads the screen from it.
type term struct {
	ed     *lineedit.Editor
	keys   *os.File // the master: what is written here is typed
	screen *clitest.Screen
}

func newTerm(tb testing.TB, cols uint16) *term {
	tb.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		tb.Fatalf("open a pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: cols}); err != nil {
		tb.Fatal(err)
	}
	ed, err := lineedit.New(slave, slave)
	if err != nil {
		tb.Fatal(err)
	}
	t := &term{ed: ed, keys: master, screen: clitest.NewScreen()}
	go t.screen.Copy(master)
	tb.Cleanup(func() {
		_ = ed.Close()
		_ = slave.Close()
		_ = master.Close()
	})
	return t
}

func (t *term) typeKeys(tb testing.TB, keys string) {
	tb.Helper()
	if _, err := io.WriteString(t.keys, keys); err != nil {
		tb.Fatalf("type %q: %v", keys, err)
	}
}

// readLine runs ReadLine while keys are typed and returns what it returned.
func (t *term) readLine(tb testing.TB, keys ...string) (lineedit.Line, error) {
	tb.Helper()
	type result struct {
		line lineedit.Line
		err  error
	}
	done := make(chan result, 1)
	go func() {
		l, err := t.ed.ReadLine()
		done <- result{l, err}
	}()
	for _, k := range keys {
		t.typeKeys(tb, k)
	}
	select {
	case r := <-done:
		return r.line, r.err
	case <-time.After(wait):
		tb.Fatalf("ReadLine did not return; screen:\n%q", t.screen.String())
	}
	return lineedit.Line{}, nil
}

func TestEditingKeys(t *testing.T) {
	t.Parallel()
	const (
		left, right, up, down = "\x1b[D", "\x1b[C", "\x1b[A", "\x1b[B"
		home, end, del        = "\x1b[H", "\x1b[F", "\x1b[3~"
	)
	tests := []struct {
		name string
		keys []string
		want string
	}{
		{"plain", []string{"hello\r"}, "hello"},
		{"insert in the middle", []string{"hllo", home, right, "e\r"}, "hello"},
		{"backspace and delete", []string{"helxlo", left, left, "\x7f", end, "!", home, del, "H\r"}, "Hello!"},
		{"ctrl-u and ctrl-k", []string{"junk\x15keep this", left, left, left, left, left, "\x0b\r"}, "keep"},
		{"ctrl-w deletes a word", []string{"one two three\x17four\r"}, "one two four"},
		{"ctrl-a and ctrl-e", []string{"bc\x01a\x05d\r"}, "abcd"},
		{"escape cut by the read", []string{"ab\x1b", "[D", "X\r"}, "aXb"},
		{"utf-8 cut by the read", []string{"caf\xc3", "\xa9 日本\r"}, "café 日本"},
		{"tab becomes a space", []string{"a\tb\r"}, "a b"},
		{"unknown escapes are ignored", []string{"a\x1b[99~b\x1b[1;2Pc\r"}, "abc"},
		{"alt-x types x", []string{"a\x1bxb\r"}, "axb"},
		{"a control character is not inserted", []string{"a\x07b\r"}, "ab"},
		{"arrows past the ends", []string{left, "b", right, right, home, left, "a\r"}, "ab"},
		{"up with no history", []string{up, down, "x\r"}, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			term := newTerm(t, 80)
			line, err := term.readLine(t, tt.keys...)
			if err != nil || line.Text != tt.want {
				t.Fatalf("ReadLine = %q, %v; want %q", line.Text, err, tt.want)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	term := newTerm(t, 80)
	for _, l := range []string{"first", "second", "second"} {
		if got, err := term.readLine(t, l+"\r"); err != nil || got.Text != l {
			t.Fatalf("ReadLine = %q, %v", got.Text, err)
		}
	}
	// Each line entered joins the history (a repeat of the newest only once).
	cases := []struct {
		keys []string
		want string
	}{
		{[]string{"\x1b[A\x1b[A\r"}, "first"},              // history: first second
		{[]string{"\x1b[A\x1b[A\x1b[A\x1b[B\r"}, "second"}, // history: first second first
		{[]string{"draft", "\x1b[A\x1b[B\r"}, "draft"},     // Down past the newest brings the draft back
		{[]string{"\x10\x10\x10\x0e\r"}, "second"},         // Ctrl-P, Ctrl-N over first second first second draft
	}
	for _, c := range cases {
		if got, err := term.readLine(t, c.keys...); err != nil || got.Text != c.want {
			t.Fatalf("keys %q: ReadLine = %q, %v; want %q", c.keys, got.Text, err, c.want)
		}
	}
}

func TestEndOfInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys string
		want error
	}{
		{"ctrl-d on an empty line", "\x04", io.EOF},
		{"ctrl-c", "typed\x03", lineedit.ErrInterrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			term := newTerm(t, 80)
			term.ed.SetPrompt("> ")
			_, err := term.readLine(t, tt.keys)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadLine error %v, want %v", err, tt.want)
			}
			term.ed.Println("after")
			term.screen.Expect(t, wait, "after")
			if s := term.screen.String(); strings.Contains(s, "^C") || strings.Contains(s, "^D") {
				t.Fatalf("the screen shows the key: %q", s)
			}
		})
	}
	t.Run("ctrl-d deletes inside a line", func(t *testing.T) {
		t.Parallel()
		term := newTerm(t, 80)
		line, err := term.readLine(t, "abc\x1b[D\x04\r")
		if err != nil || line.Text != "ab" {
			t.Fatalf("ReadLine = %q, %v; want ab", line.Text, err)
		}
	})
}

// TestCRLFIsOneEnter: a terminal or a paste that sends CR LF ends one line,
// not two.
func TestCRLFIsOneEnter(t *testing.T) {
	t.Parallel()
	term := newTerm(t, 80)
	if got, err := term.readLine(t, "one\r\ntwo\r\n"); err != nil || got.Text != "one" {
		t.Fatalf("first ReadLine = %q, %v", got.Text, err)
	}
	if got, err := term.readLine(t); err != nil || got.Text != "two" {
		t.Fatalf("second ReadLine = %q, %v; want two (no empty line between)", got.Text, err)
	}
}

// TestPrintlnKeepsTheInput: a line printed while the user types appears
// above the prompt, which is drawn again with what was typed.
func TestPrintlnKeepsTheInput(t *testing.T) {
	t.Parallel()
	term := newTerm(t, 80)
	term.ed.SetPrompt("[alice] > ")
	done := make(chan lineedit.Line, 1)
	go func() {
		l, _ := term.ed.ReadLine()
		done <- l
	}()
	term.typeKeys(t, "half typ")
	term.screen.Expect(t, wait, "[alice] > half typ")
	term.ed.Println("[bob] hi\nthere")
	term.screen.Expect(t, wait, "[bob] hi\r\nthere\r\n[alice] > half typ")
	term.typeKeys(t, "ed\r")
	select {
	case l := <-done:
		if l.Text != "half typed" || l.PromptChanged {
			t.Fatalf("ReadLine = %+v, want \"half typed\" with the prompt unchanged", l)
		}
	case <-time.After(wait):
		t.Fatal("ReadLine did not return")
	}
}

// TestPromptChangedWhileTyping: a line half typed when the prompt changes is
// marked, so the program does not take it as an answer to the new question;
// a line begun after the change, or emptied and typed again, is not.
func TestPromptChangedWhileTyping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before string // typed before the prompt changes
		after  string // typed after
		want   lineedit.Line
	}{
		{"half typed", "ba", "r\r", lineedit.Line{Text: "bar", PromptChanged: true}},
		{"nothing typed yet", "", "yes\r", lineedit.Line{Text: "yes"}},
		{"emptied and typed again", "ba", "\x7f\x7fyes\r", lineedit.Line{Text: "yes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			term := newTerm(t, 80)
			term.ed.SetPrompt("Enter a user: ")
			done := make(chan lineedit.Line, 1)
			go func() {
				l, _ := term.ed.ReadLine()
				done <- l
			}()
			term.typeKeys(t, tt.before)
			term.screen.Expect(t, wait, "Enter a user: "+tt.before)
			term.ed.SetPrompt("Accept? ")
			term.screen.Expect(t, wait, "Accept? "+tt.before)
			term.typeKeys(t, tt.after)
			select {
			case l := <-done:
				if l != tt.want {
					t.Fatalf("ReadLine = %+v, want %+v", l, tt.want)
				}
			case <-time.After(wait):
				t.Fatal("ReadLine did not return")
			}
		})
	}
}

// TestLongLineWraps: a line longer than the terminal is wide wraps, and
// editing at its start redraws every row of it.
func TestLongLineWraps(t *testing.T) {
	t.Parallel()
	term := newTerm(t, 20)
	term.ed.SetPrompt("> ")
	long := strings.Repeat("0123456789", 7) // 72 columns with the prompt: 4 rows
	line, err := term.readLine(t, long, "\x1b[H", "X", "\r")
	if err != nil || line.Text != "X"+long {
		t.Fatalf("ReadLine = %q, %v", line.Text, err)
	}
	// The cursor went up 3 rows to the prompt (for Home, or for Home and X
	// at once when both keys were read together), and the line was drawn
	// again from the prompt with the X in front.
	term.screen.Expect(t, wait, "\x1b[3A")
	term.screen.Expect(t, wait, "\r\x1b[J> X0123")
}

// TestPaste checks that a pasted 12,000-character line arrives whole; the
// benchmark below measures how long it takes.
func TestPaste(t *testing.T) {
	t.Parallel()
	term := newTerm(t, 80)
	text := pasteText(12000)
	line, err := term.readLine(t, text+"\r")
	if err != nil || line.Text != text {
		t.Fatalf("ReadLine returned %d characters, %v; want the %d pasted", len(line.Text), err, len(text))
	}
}

func pasteText(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString("the quick brown fox jumps over the lazy dog; ")
	}
	return b.String()[:n]
}

// BenchmarkPaste12000 measures a paste of a 12,000-character line into the
// editor through a pseudo-terminal, until ReadLine returns it. chzyer/readline
// took about 11 s for this (quadratic: 8.4 s for 10,000 characters).
func BenchmarkPaste12000(b *testing.B) {
	term := newTerm(b, 80)
	text := pasteText(12000) + "\r"
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if line, err := term.readLine(b, text); err != nil || len(line.Text) != 12000 {
			b.Fatalf("ReadLine returned %d characters, %v", len(line.Text), err)
		}
	}
}
