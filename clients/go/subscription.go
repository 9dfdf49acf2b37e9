package spartan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// Update is one thing a Subscription reports: a message, or a change of the
// connection.
type Update struct {
	// Message is a new message of the inbox, or nil.
	Message *spartanv1.Message
	// Disconnected is why the stream broke; the subscription is reconnecting.
	Disconnected error
	// Reconnected says the server answers again after a Disconnected.
	Reconnected bool
}

// SubscribeOptions tune a Subscription; zero fields take the defaults.
type SubscribeOptions struct {
	// After is the last sequence number already seen (0: resume after the
	// last acknowledged one).
	After uint64
	// GiveUp is how long the server may stay unreachable before the
	// subscription ends with an error (default 30s).
	GiveUp time.Duration
	// MaxBackoff caps the wait between reconnection attempts (default 5s).
	MaxBackoff time.Duration
}

// Subscription follows a user's inbox: it replays what was missed, then
// delivers new messages as they come, reconnecting after a dropped
// connection from the last sequence number it delivered. Messages arrive on
// C in inbox order, each once.
type Subscription struct {
	// C delivers updates; it is closed when the subscription ends.
	C <-chan Update

	c    *Client
	opts SubscribeOptions
	out  chan Update
	err  error
	done chan struct{}

	ackMu   sync.Mutex
	ackWant uint64
	ackKick chan struct{}
}

// Subscribe starts following the user's inbox until ctx ends or the server
// stays unreachable for longer than opts.GiveUp.
func (c *Client) Subscribe(ctx context.Context, opts SubscribeOptions) *Subscription {
	if opts.GiveUp <= 0 {
		opts.GiveUp = 30 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	s := &Subscription{
		c:       c,
		opts:    opts,
		out:     make(chan Update),
		done:    make(chan struct{}),
		ackKick: make(chan struct{}, 1),
	}
	s.C = s.out
	go s.run(ctx)
	return s
}

// Err is why the subscription ended: nil when its context ended, otherwise
// the error that made it give up. It blocks until C is closed.
func (s *Subscription) Err() error {
	<-s.done
	return s.err
}

// Ack marks the inbox as shown up to seq. Acknowledgements are sent in the
// background, coalesced, and flushed when the subscription ends.
func (s *Subscription) Ack(seq uint64) {
	s.ackMu.Lock()
	if seq > s.ackWant {
		s.ackWant = seq
	}
	s.ackMu.Unlock()
	select {
	case s.ackKick <- struct{}{}:
	default:
	}
}

func (s *Subscription) run(ctx context.Context) {
	ackCtx, stopAcks := context.WithCancel(context.WithoutCancel(ctx))
	acksDone := make(chan struct{})
	go s.acks(ctx, ackCtx, acksDone)
	err := s.follow(ctx)
	if ctx.Err() != nil {
		err = nil
	}
	s.err = err
	close(s.out)
	// Let the last acknowledgement go out, but not for long.
	select {
	case <-acksDone:
	case <-time.After(2 * time.Second):
	}
	stopAcks()
	close(s.done)
}

// acks sends the newest acknowledgement whenever one is marked, and once
// more when ctx ends.
func (s *Subscription) acks(ctx, ackCtx context.Context, done chan<- struct{}) {
	defer close(done)
	var sent uint64
	flush := func() {
		s.ackMu.Lock()
		want := s.ackWant
		s.ackMu.Unlock()
		if want > sent {
			callCtx, cancel := context.WithTimeout(ackCtx, 2*time.Second)
			defer cancel()
			if err := s.c.Ack(callCtx, want); err == nil {
				sent = want
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			flush()
			return
		case <-s.ackKick:
			flush()
		}
	}
}

// follow runs streams one after the other until ctx ends or it gives up.
func (s *Subscription) follow(ctx context.Context) error {
	last := s.opts.After
	var lostSince time.Time
	backoff := 100 * time.Millisecond
	var err error
	for {
		if !lostSince.IsZero() {
			// Ask cheaply whether the server is back before reopening the stream.
			if _, err = s.c.Login(ctx); err == nil {
				lostSince = time.Time{}
				backoff = 100 * time.Millisecond
				if !s.emit(ctx, Update{Reconnected: true}) {
					return ctx.Err()
				}
			} else if !retryable(err) {
				return err
			}
		}
		if lostSince.IsZero() {
			last, err = s.stream(ctx, last)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			switch {
			case connect.CodeOf(err) == connect.CodeOutOfRange:
				// The server has fewer messages than we saw: it lost its data.
				// Start over from its acknowledged position rather than wait forever.
				last = 0
				continue
			case !retryable(err):
				return err
			}
			lostSince = time.Now()
			if !s.emit(ctx, Update{Disconnected: err}) {
				return ctx.Err()
			}
		}
		if time.Since(lostSince) > s.opts.GiveUp {
			return fmt.Errorf("the server has been unreachable for %s: %w", s.opts.GiveUp.Round(time.Second), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.opts.MaxBackoff)
	}
}

// stream opens one ReceiveMsg stream after last and delivers what it gets.
// It returns the last sequence number delivered and why the stream ended.
func (s *Subscription) stream(ctx context.Context, last uint64) (uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := s.c.rpc.ReceiveMsg(ctx, connect.NewRequest(&spartanv1.Message{Receiver: s.c.user, Seq: last}))
	if err != nil {
		return last, err
	}
	defer func() { _ = st.Close() }()
	for st.Receive() {
		m := st.Msg()
		if m.GetSeq() <= last {
			continue // already delivered before a reconnect
		}
		last = m.GetSeq()
		if !s.emit(ctx, Update{Message: m}) {
			return last, ctx.Err()
		}
	}
	err = st.Err()
	if err == nil {
		err = connect.NewError(connect.CodeUnavailable, errors.New("the server ended the stream"))
	}
	return last, err
}

func (s *Subscription) emit(ctx context.Context, u Update) bool {
	select {
	case s.out <- u:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryable says whether an error may go away by itself: the server is
// restarting, unreachable or overloaded.
func retryable(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeUnknown, connect.CodeDeadlineExceeded,
		connect.CodeAborted, connect.CodeInternal, connect.CodeResourceExhausted, connect.CodeCanceled:
		return true
	}
	return false
}
