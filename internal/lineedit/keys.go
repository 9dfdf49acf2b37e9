package lineedit

import "unicode/utf8"

// key is one thing typed: a rune to insert, or an editing action.
type key struct {
	act  action
	char rune // for actInsert
}

// action is what a key does.
type action int

const (
	actNone action = iota // a key the editor ignores
	actInsert
	actEnter
	actInterrupt // Ctrl-C
	actEOF       // Ctrl-D: end of input on an empty line, else delete
	actBackspace
	actDelete
	actLeft
	actRight
	actWordLeft
	actWordRight
	actHome
	actEnd
	actUp
	actDown
	actKillToEnd
	actKillToStart
	actKillWord
	actClear // Ctrl-L: redraw on a clean screen
)

// controls maps the control bytes the editor knows to their actions.
var controls = map[byte]action{
	0x01: actHome,        // Ctrl-A
	0x02: actLeft,        // Ctrl-B
	0x03: actInterrupt,   // Ctrl-C
	0x04: actEOF,         // Ctrl-D
	0x05: actEnd,         // Ctrl-E
	0x06: actRight,       // Ctrl-F
	0x08: actBackspace,   // Ctrl-H
	0x0b: actKillToEnd,   // Ctrl-K
	0x0c: actClear,       // Ctrl-L
	0x0d: actEnter,       // Enter (CR)
	0x0a: actEnter,       // Enter (LF), as some terminals and pastes send
	0x0e: actDown,        // Ctrl-N
	0x10: actUp,          // Ctrl-P
	0x15: actKillToStart, // Ctrl-U
	0x17: actKillWord,    // Ctrl-W
	0x7f: actBackspace,   // Backspace
}

// csiFinals maps the final byte of a CSI (ESC [) or SS3 (ESC O) sequence
// without parameters to its action.
var csiFinals = map[byte]action{
	'A': actUp, 'B': actDown, 'C': actRight, 'D': actLeft, 'H': actHome, 'F': actEnd,
}

// tildeCodes maps ESC [ n ~ sequences to their actions.
var tildeCodes = map[string]action{
	"1": actHome, "7": actHome, "4": actEnd, "8": actEnd, "3": actDelete,
}

// nextKey decodes the first key of b and returns it with the number of bytes
// it used. It returns 0 bytes when b ends inside a key (an escape sequence or
// a UTF-8 encoding cut by the read): the caller waits for more input.
func nextKey(b []byte) (key, int) {
	c := b[0]
	switch {
	case c == 0x1b:
		return escapeKey(b)
	case c == '\t':
		return key{act: actInsert, char: ' '}, 1 // a tab would break the column count
	case c < 0x20 || c == 0x7f:
		return key{act: controls[c]}, 1
	case c < utf8.RuneSelf:
		return key{act: actInsert, char: rune(c)}, 1
	}
	if !utf8.FullRune(b) {
		return key{}, 0
	}
	r, n := utf8.DecodeRune(b)
	return key{act: actInsert, char: r}, n // invalid UTF-8 inserts U+FFFD
}

// escapeKey decodes a key that starts with ESC.
func escapeKey(b []byte) (key, int) {
	if len(b) < 2 {
		return key{}, 0
	}
	switch b[1] {
	case 'O': // SS3: ESC O A ... as terminals in application mode send
		if len(b) < 3 {
			return key{}, 0
		}
		return key{act: csiFinals[b[2]]}, 3
	case '[':
	default:
		// Alt-something, or a lone Escape followed by a key: drop the ESC
		// and let the key count on its own.
		return key{}, 1
	}
	// CSI: parameters 0x30-0x3f, intermediates 0x20-0x2f, a final 0x40-0x7e.
	i := 2
	for i < len(b) && b[i] >= 0x20 && b[i] <= 0x3f {
		i++
	}
	if i == len(b) {
		return key{}, 0
	}
	final, params := b[i], string(b[2:i])
	n := i + 1
	if final < 0x40 || final > 0x7e {
		return key{}, i // malformed: skip what was read
	}
	switch {
	case final == '~':
		return key{act: tildeCodes[params]}, n // also ignores bracketed-paste marks 200~ and 201~
	case params == "":
		return key{act: csiFinals[final]}, n
	case params == "1;5" || params == "1;3": // Ctrl or Alt with an arrow
		switch final {
		case 'C':
			return key{act: actWordRight}, n
		case 'D':
			return key{act: actWordLeft}, n
		}
	}
	return key{}, n
}
