package chat

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Code classifies a core error; the API maps each to a transport code once.
type Code int

// The error codes of the core.
const (
	// CodeInternal is a failure of the server itself.
	CodeInternal Code = iota
	// CodeInvalid is a malformed request.
	CodeInvalid
	// CodeNotFound names a user or thing that does not exist.
	CodeNotFound
	// CodeFailedPrecondition is a request the current state does not allow.
	CodeFailedPrecondition
	// CodeExhausted is a limit reached.
	CodeExhausted
	// CodeOutOfRange is a position past the end of a log.
	CodeOutOfRange
	// CodePermissionDenied is a request the caller may not make (about a
	// group it is not a member of).
	CodePermissionDenied
	// CodeAlreadyExists is a name taken, or a member there already.
	CodeAlreadyExists
)

// Error is a core error with a code and a sentence meant for the user.
type Error struct {
	// Code classifies the error.
	Code Code
	// Message is a sentence that names what failed and with what input.
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf makes an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for errors not made by this package.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// maxQuoted is how much of a client's input an error quotes: enough to
// recognise it, never so much that the error grows with the input (a
// 200 KB name must not come back whole, nor push a reply past a client's
// size limit).
const maxQuoted = 40

// quoteInput returns s, or its first maxQuoted characters and "..." when it
// is longer, for an error message.
func quoteInput(s string) string {
	if utf8.RuneCountInString(s) <= maxQuoted {
		return s
	}
	return string([]rune(s)[:maxQuoted]) + "..."
}
