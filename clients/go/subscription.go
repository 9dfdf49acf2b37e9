package spartan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// Update is one thing a Subscription reports: a message, or a change of the
// connection.
type Update struct {
	// Message is a new message of the inbox, or nil.
	Message *spartanv1.Message
	// Disconnected is why the stream broke; the subscription is reconnecting.
	Disconnected error
	// Reconnected says a server answers again after a Disconnected: Server
	// is which (another than before when the client moved to another server
	// of its cluster).
	Reconnected bool
	// Server is the address of the server in use, with Reconnected.
	Server string
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
	ackWant position
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

// position is a place in an inbox: a sequence number and the epoch it
// counts in.
type position struct {
	epoch string
	seq   uint64
}

// Ack marks the inbox as shown up to m, a message the subscription
// delivered. Acknowledgements are sent in the background, coalesced, and
// flushed when the subscription ends. Live-only events (seq 0) need none.
func (s *Subscription) Ack(m *spartanv1.Message) {
	if m.GetSeq() == 0 {
		return
	}
	s.ackMu.Lock()
	if m.GetEpoch() != s.ackWant.epoch || m.GetSeq() > s.ackWant.seq {
		s.ackWant = position{epoch: m.GetEpoch(), seq: m.GetSeq()}
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
	var sent position
	flush := func() {
		s.ackMu.Lock()
		want := s.ackWant
		s.ackMu.Unlock()
		if want != sent {
			callCtx, cancel := context.WithTimeout(ackCtx, 2*time.Second)
			defer cancel()
			if err := s.c.Ack(callCtx, want.epoch, want.seq); err == nil {
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
	last := position{seq: s.opts.After}
	var lostSince time.Time
	backoff := 100 * time.Millisecond
	var err error
	for {
		if !lostSince.IsZero() {
			// Ask cheaply whether the server is back before reopening the stream.
			if _, err = s.c.Login(ctx); err == nil {
				lostSince = time.Time{}
				backoff = 100 * time.Millisecond
				if !s.emit(ctx, Update{Reconnected: true, Server: s.c.Addr()}) {
					return ctx.Err()
				}
			} else if !Retryable(err) {
				return err
			}
		}
		if lostSince.IsZero() {
			opened := time.Now()
			var delivered bool
			last, delivered, err = s.stream(ctx, last)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			switch {
			case connect.CodeOf(err) == connect.CodeUnauthenticated && (delivered || time.Since(opened) >= time.Second):
				// The server ended a stream that had been running because its
				// session token expired: reopen it at once, quietly (the
				// session logs in again first). A stream refused as it
				// opens is another matter: the error below.
				continue
			case connect.CodeOf(err) == connect.CodeOutOfRange:
				// The server has fewer messages than we saw: it lost its data
				// (a server that does not send epochs). Start over from its
				// acknowledged position rather than wait forever; acknowledge
				// the new inbox's numbers from scratch too.
				last = position{}
				s.ackMu.Lock()
				s.ackWant = position{}
				s.ackMu.Unlock()
				continue
			case !Retryable(err):
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
// It returns the last position delivered, whether it delivered anything,
// and why the stream ended.
func (s *Subscription) stream(ctx context.Context, last position) (position, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := s.c.rpc().ReceiveMsg(ctx, connect.NewRequest(&spartanv1.Message{Receiver: s.c.user, Seq: last.seq, Epoch: last.epoch}))
	if err != nil {
		return last, false, err
	}
	delivered := false
	defer func() { _ = st.Close() }()
	for st.Receive() {
		m := st.Msg()
		if e := m.GetEpoch(); e != "" && e != last.epoch {
			// A new epoch (the server lost its data) numbers from 1 again;
			// the notice that says so carries it too.
			last = position{epoch: e}
		}
		if m.GetSeq() != 0 { // 0: a live-only event (presence, notice), never replayed
			if m.GetSeq() <= last.seq {
				continue // already delivered before a reconnect
			}
			last.seq = m.GetSeq()
		}
		if !s.emit(ctx, Update{Message: m}) {
			return last, delivered, ctx.Err()
		}
		delivered = true
	}
	err = st.Err()
	if err == nil {
		err = connect.NewError(connect.CodeUnavailable, errors.New("the server ended the stream"))
	}
	return last, delivered, err
}

func (s *Subscription) emit(ctx context.Context, u Update) bool {
	select {
	case s.out <- u:
		return true
	case <-ctx.Done():
		return false
	}
}

// RetryDelay is the wait a server asked for with a google.rpc.RetryInfo
// detail (a rate limit's refusal), and whether it asked.
func RetryDelay(err error) (time.Duration, bool) {
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		return 0, false
	}
	for _, d := range cerr.Details() {
		if v, derr := d.Value(); derr == nil {
			if ri, ok := v.(*errdetails.RetryInfo); ok {
				return ri.GetRetryDelay().AsDuration(), true
			}
		}
	}
	return 0, false
}

// Retryable says whether an error may go away by itself: the server is
// restarting, unreachable or overloaded, so the same call may succeed later.
func Retryable(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeUnknown, connect.CodeDeadlineExceeded,
		connect.CodeAborted, connect.CodeInternal, connect.CodeResourceExhausted, connect.CodeCanceled:
		return true
	}
	return false
}
