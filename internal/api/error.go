package api

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/spartan-messenger/spartan/internal/chat"
)

var codes = map[chat.Code]connect.Code{
	chat.CodeInvalid:            connect.CodeInvalidArgument,
	chat.CodeNotFound:           connect.CodeNotFound,
	chat.CodeFailedPrecondition: connect.CodeFailedPrecondition,
	chat.CodeExhausted:          connect.CodeResourceExhausted,
	chat.CodeOutOfRange:         connect.CodeOutOfRange,
	chat.CodePermissionDenied:   connect.CodePermissionDenied,
	chat.CodeAlreadyExists:      connect.CodeAlreadyExists,
}

// fail maps err to a Connect error. Core errors keep their sentence; anything
// else is an internal error whose detail goes to the log, not to the client.
func (h *Handler) fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	var ce *chat.Error
	if errors.As(err, &ce) {
		if code, ok := codes[ce.Code]; ok {
			return connect.NewError(code, ce)
		}
	}
	h.log.ErrorContext(ctx, "internal error", "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal server error; the server's log has the details"))
}
