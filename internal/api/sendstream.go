package api

import (
	"context"
	"errors"
	"fmt"
	"io"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/streamflush"
)

// received is one request of a SendMsgStream, or the error that ended the
// stream of requests.
type received struct {
	msg *spartanv1.SendMsgRequest
	err error
}

// SendMsgStream stores and delivers the messages of a busy sender, as SendMsg
// does each, answering them in order. The first that fails ends the stream
// with its error. One goroutine reads the requests ahead while this one
// handles them; the answers are flushed when no request is waiting, so a
// burst is answered with one flush.
func (h *Handler) SendMsgStream(ctx context.Context, stream *connect.BidiStream[spartanv1.SendMsgRequest, spartanv1.SendMsgResponse]) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(h.stopping, cancel)
	defer stop()
	// Headers at once: a client waits for them before its first answer.
	if err := stream.Send(nil); err != nil {
		return h.fail(ctx, fmt.Errorf("open a stream of sends: %w", err))
	}
	in := make(chan received, 64)
	go func() {
		for {
			msg, err := stream.Receive()
			select {
			case in <- received{msg: msg, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var release func()
	defer func() {
		if release != nil {
			release()
		}
	}()
	for {
		var r received
		select {
		case r = <-in:
		case <-ctx.Done():
			return h.ended(ctx)
		}
		if r.err != nil {
			if errors.Is(r.err, io.EOF) {
				return nil // the client sent all it had: every request is answered
			}
			if ctx.Err() != nil {
				return h.ended(ctx)
			}
			return r.err
		}
		res, err := h.send(ctx, r.msg)
		if err != nil {
			return err
		}
		if release == nil && len(in) > 0 {
			release = streamflush.Hold(ctx)
		}
		if err := stream.Send(res); err != nil {
			return h.fail(ctx, fmt.Errorf("answer %s: %w", r.msg.GetUser(), err))
		}
		if release != nil && len(in) == 0 {
			release()
			release = nil
		}
	}
}

// ended is the error of a stream whose context is done: the server is
// stopping, or the client went away.
func (h *Handler) ended(ctx context.Context) error {
	if h.stopping.Err() != nil {
		return connect.NewError(connect.CodeUnavailable, errors.New("the server is shutting down; reconnect to resume"))
	}
	// The client went away: nothing failed on this side.
	return connect.NewError(connect.CodeCanceled, errors.New("the client closed the stream"))
}
