package spartan

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// errNotProcessed is what a send waiting on a stream of sends gets when the
// stream ended before the server took it: it may be sent again.
var errNotProcessed = errors.New("the stream of sends ended before this message")

// streamIdle is how long a stream of sends stays open with nothing in
// flight: a busy sender whose sends pause for a moment keeps it.
const streamIdle = 2 * time.Second

// sendPipe sends a Client's messages: one at a time with SendMsg, and, once
// more than one is in flight, on one SendMsgStream that they share, which
// costs the server far less per message than a call each. The stream closes
// when no send has been in flight for streamIdle.
type sendPipe struct {
	c     *Client
	unary bool // WithUnarySend: never a stream

	mu       sync.Mutex
	inflight int         // sends in progress
	cur      *sendStream // the open stream, nil when none
	idle     *time.Timer // closes cur when nothing is in flight
	refused  bool        // the server has no SendMsgStream: unary only
}

// send sends req, on the stream when another send is in flight.
func (p *sendPipe) send(ctx context.Context, req *spartanv1.SendMsgRequest) (*spartanv1.SendMsgResponse, error) {
	p.mu.Lock()
	p.inflight++
	if p.idle != nil {
		p.idle.Stop()
		p.idle = nil
	}
	var s *sendStream
	if !p.unary && !p.refused && (p.inflight > 1 || p.cur != nil) {
		if p.cur == nil {
			p.cur = p.open()
		}
		s = p.cur
	}
	p.mu.Unlock()
	defer p.done()
	if s != nil {
		res, err := s.send(ctx, req)
		if !errors.Is(err, errNotProcessed) {
			return res, err
		}
	}
	return p.c.sendUnary(ctx, req)
}

// done ends a send; when none is left in flight, the stream closes after
// streamIdle unless another starts.
func (p *sendPipe) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if p.inflight > 0 || p.cur == nil {
		return
	}
	s := p.cur
	p.idle = time.AfterFunc(streamIdle, func() {
		p.mu.Lock()
		closing := p.inflight == 0 && p.cur == s
		if closing {
			p.cur = nil
		}
		p.mu.Unlock()
		if closing {
			s.closeRequests()
		}
	})
}

// open opens a stream of sends on the server in use.
func (p *sendPipe) open() *sendStream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sendStream{p: p, bidi: p.c.rpc().SendMsgStream(ctx), cancel: cancel}
	go s.receive()
	return s
}

// ended forgets s, which failed with err, so that the next sends open
// another stream, or send one at a time if the server has no streams.
func (p *sendPipe) ended(s *sendStream, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == s {
		p.cur = nil
	}
	if connect.CodeOf(err) == connect.CodeUnimplemented {
		p.refused = true
	}
}

// sendStream is one open SendMsgStream: requests go out in the order of
// waiting, and the answers come back in that order.
type sendStream struct {
	p      *sendPipe
	bidi   *connect.BidiStreamForClient[spartanv1.SendMsgRequest, spartanv1.SendMsgResponse]
	cancel context.CancelFunc

	// sendMu orders the requests: held while one joins waiting and goes
	// out. Not mu: a request that waits on flow control must not keep the
	// answers from being taken.
	sendMu sync.Mutex
	closed bool // no more requests; under sendMu

	mu      sync.Mutex
	waiting []*pendingSend // sent, not answered, oldest first
	err     error          // the stream's end; nil while it is open
}

// pendingSend is a request on a stream, waiting for its answer.
type pendingSend struct {
	req  *spartanv1.SendMsgRequest
	done chan sendResult // buffered: the answer never waits for its reader
}

type sendResult struct {
	res *spartanv1.SendMsgResponse
	err error
}

// send sends req on the stream and waits for its answer.
func (s *sendStream) send(ctx context.Context, req *spartanv1.SendMsgRequest) (*spartanv1.SendMsgResponse, error) {
	w := &pendingSend{req: req, done: make(chan sendResult, 1)}
	s.sendMu.Lock()
	s.mu.Lock()
	if s.err != nil || s.closed {
		s.mu.Unlock()
		s.sendMu.Unlock()
		return nil, errNotProcessed
	}
	s.waiting = append(s.waiting, w)
	s.mu.Unlock()
	// Under sendMu, so that requests go out in the order of waiting. An
	// error here is the stream's: Receive reports it, and answers w.
	_ = s.bidi.Send(req)
	s.sendMu.Unlock()
	select {
	case r := <-w.done:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// closeRequests tells the server no more requests come; the stream ends
// once it has answered those it has.
func (s *sendStream) closeRequests() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if !s.closed {
		s.closed = true
		_ = s.bidi.CloseRequest()
	}
}

// receive hands each answer to the oldest waiting send, until the stream
// ends; then it answers every send still waiting.
func (s *sendStream) receive() {
	defer s.cancel()
	for {
		res, err := s.bidi.Receive()
		s.mu.Lock()
		if err != nil {
			s.err = err
			waiting := s.waiting
			s.waiting = nil
			s.mu.Unlock()
			_ = s.bidi.CloseResponse()
			s.p.ended(s, err)
			for i, w := range waiting {
				w.done <- sendResult{err: failed(i == 0, w.req, err)}
			}
			return
		}
		if len(s.waiting) == 0 {
			// An answer nobody asked for: not a server of ours. End here.
			s.mu.Unlock()
			s.p.ended(s, errors.New("an answer with no request"))
			return
		}
		w := s.waiting[0]
		s.waiting = s.waiting[1:]
		s.mu.Unlock()
		w.done <- sendResult{res: res}
	}
}

// failed is what a send that was waiting on a stream gets when the stream
// ended with err. The server answers in order and stops at the first
// request it refuses: that one (first) gets the refusal, and the ones
// after it were not processed and are sent again. When the stream broke
// instead (the connection, the server), a send can be repeated safely only
// with its client_msg_id.
func failed(first bool, req *spartanv1.SendMsgRequest, err error) error {
	if errors.Is(err, io.EOF) {
		// The stream ended without a word on this one: not taken.
		return errNotProcessed
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnimplemented:
		return errNotProcessed // no stream here: nothing was taken
	case connect.CodeUnavailable, connect.CodeUnknown, connect.CodeInternal, connect.CodeCanceled, connect.CodeDeadlineExceeded,
		connect.CodeUnauthenticated: // a token to renew; the stream may have been cut when it expired, mid-batch
		if req.GetClientMsgId() != "" {
			return errNotProcessed
		}
		return err
	}
	if first {
		return err
	}
	return errNotProcessed
}
