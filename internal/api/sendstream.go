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

// maxBatch is the most requests of a stream stored in one transaction.
const maxBatch = 64

// SendMsgStream stores and delivers the messages of a busy sender, as SendMsg
// does each, answering them in order. The first that fails ends the stream
// with its error. One goroutine reads the requests ahead while this one
// stores what has arrived meanwhile as one batch (one store transaction,
// chat.Service.SendBatch); the answers are flushed when no request is
// waiting, so a burst is answered with one flush.
func (h *Handler) SendMsgStream(ctx context.Context, stream *connect.BidiStream[spartanv1.SendMsgRequest, spartanv1.SendMsgResponse]) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(h.stopping, cancel)
	defer stop()
	// Headers at once: a client waits for them before its first answer.
	if err := stream.Send(nil); err != nil {
		return h.fail(ctx, fmt.Errorf("open a stream of sends: %w", err))
	}
	in := make(chan received, maxBatch)
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
	var carry *received // a request of another user, for the next batch
	for {
		var r received
		if carry != nil {
			r, carry = *carry, nil
		} else {
			select {
			case r = <-in:
			case <-ctx.Done():
				return h.ended(ctx)
			}
		}
		if r.err != nil {
			return h.streamEnd(ctx, r.err)
		}
		// What else has arrived, of the same user (without a session, a
		// stream may speak for several), up to maxBatch.
		batch := []*spartanv1.SendMsgRequest{r.msg}
		var end error
	drain:
		for len(batch) < maxBatch {
			select {
			case n := <-in:
				if n.err != nil {
					end = n.err
					break drain
				}
				if n.msg.GetUser() != r.msg.GetUser() {
					carry = &n
					break drain
				}
				batch = append(batch, n.msg)
			default:
				break drain
			}
		}
		answers, err := h.sendBatch(ctx, r.msg.GetUser(), batch)
		if release == nil && (len(answers) > 1 || len(in) > 0 || carry != nil) {
			release = streamflush.Hold(ctx)
		}
		for _, a := range answers {
			if err := stream.Send(a); err != nil {
				return h.fail(ctx, fmt.Errorf("answer %s: %w", r.msg.GetUser(), err))
			}
		}
		if err != nil {
			return err
		}
		if end != nil {
			return h.streamEnd(ctx, end)
		}
		if release != nil && len(in) == 0 && carry == nil {
			release()
			release = nil
		}
	}
}

// streamEnd is what a stream of requests returns when reading them ended
// with err: nothing when the client sent all it had (every request is
// answered), the stream's end, or err (a refusal of the rate limit).
func (h *Handler) streamEnd(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case ctx.Err() != nil:
		return h.ended(ctx)
	}
	return err
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
