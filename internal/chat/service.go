package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"
)

// Options are a Service's settings; zero fields take the defaults below.
type Options struct {
	// Users are the configured users, in configuration order.
	Users []string
	// MaxPayload is the largest payload Send accepts, in bytes (default 64 KiB).
	MaxPayload int
	// MaxPending is how many messages may wait for a chat request's answer (default 100).
	MaxPending int
	// ReadBatch is how many events Receive reads from the store at a time (default 256).
	ReadBatch int
	// Now tells the time (default time.Now).
	Now func() time.Time
	// NewID makes a unique event id (required).
	NewID func() string
	// Logger receives the core's warnings (default slog.Default()).
	Logger *slog.Logger
	// Changed, if set, is called after every committed change to messages
	// or conversations with the users it involved, before the call that made
	// it returns. Response caches use it to drop what the change made stale.
	Changed func(users []string)
}

// Service is the chat core. It is safe for concurrent use.
type Service struct {
	opts   Options
	known  map[string]bool
	store  Store
	broker Broker
}

// NewService returns the core over a store and a broker.
func NewService(store Store, broker Broker, opts Options) *Service {
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = 64 << 10
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100
	}
	if opts.ReadBatch <= 0 {
		opts.ReadBatch = 256
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	known := make(map[string]bool, len(opts.Users))
	for _, u := range opts.Users {
		known[u] = true
	}
	return &Service{opts: opts, known: known, store: store, broker: broker}
}

// Users returns every configured user, in configuration order.
func (s *Service) Users() []string { return append([]string(nil), s.opts.Users...) }

// MaxPayload is the largest payload Send accepts.
func (s *Service) MaxPayload() int { return s.opts.MaxPayload }

// Session is what a user learns on logging in.
type Session struct {
	// Others are the other users, in configuration order.
	Others []string
	// Requests are the users who asked to chat and wait for an answer.
	Requests []string
}

// Login checks that user exists and returns the others and the open requests.
func (s *Service) Login(ctx context.Context, user string) (Session, error) {
	if err := s.checkUser("user", user); err != nil {
		return Session{}, err
	}
	var sess Session
	err := s.store.View(ctx, func(tx Tx) error {
		sess = Session{}
		for _, other := range s.opts.Users {
			if other == user {
				continue
			}
			sess.Others = append(sess.Others, other)
			c, err := getConversation(tx, user, other)
			if err != nil {
				return err
			}
			if c.State == StateRequested && c.Requester == other {
				sess.Requests = append(sess.Requests, other)
			}
		}
		return nil
	})
	if err != nil {
		return Session{}, fmt.Errorf("log in %s: %w", user, err)
	}
	return sess, nil
}

// RequestChat asks peer to chat with user. It returns StateAccepted when the
// two can chat at once (they already do, or peer had asked user), and
// StateRequested when peer still has to answer.
func (s *Service) RequestChat(ctx context.Context, user, peer string) (State, error) {
	if err := s.checkPair(user, peer); err != nil {
		return StateNone, err
	}
	var state State
	err := s.update(ctx, func(w *writer) error {
		c, err := getConversation(w.tx, user, peer)
		if err != nil {
			return err
		}
		switch {
		case c.State == StateAccepted:
			state = StateAccepted
			return nil
		case c.State == StateRequested && c.Requester == peer:
			state = StateAccepted
			_, err := w.accept(user, peer, c)
			return err
		case c.State == StateRequested && c.Requester == user:
			state = StateRequested
			return nil
		}
		state = StateRequested
		if err := putConversation(w.tx, user, peer, Conversation{State: StateRequested, Requester: user}); err != nil {
			return err
		}
		return w.deliver(s.event(KindChatRequest, user, peer, "", nil, 0))
	})
	if err != nil {
		return StateNone, fmt.Errorf("request chat %s->%s: %w", user, peer, err)
	}
	return state, nil
}

// AnswerChat accepts or declines the request peer sent to user, and returns
// the conversation's new state and how many waiting messages it delivered or
// dropped.
func (s *Service) AnswerChat(ctx context.Context, user, peer string, accept bool) (State, int, error) {
	if err := s.checkPair(user, peer); err != nil {
		return StateNone, 0, err
	}
	var (
		state State
		moved int
	)
	err := s.update(ctx, func(w *writer) error {
		c, err := getConversation(w.tx, user, peer)
		if err != nil {
			return err
		}
		if c.State == StateAccepted && accept {
			state, moved = StateAccepted, 0
			return nil
		}
		if c.State != StateRequested || c.Requester != peer {
			return Errorf(CodeFailedPrecondition, "%s has not asked to chat with %s", peer, user)
		}
		if accept {
			state = StateAccepted
			moved, err = w.accept(user, peer, c)
			return err
		}
		state, moved = StateDeclined, len(c.Pending)
		if err := putConversation(w.tx, user, peer, Conversation{State: StateDeclined, Requester: peer}); err != nil {
			return err
		}
		note := fmt.Sprintf("%s declined your chat request.", user)
		if moved > 0 {
			note = fmt.Sprintf("%s declined your chat request; %s not delivered.", user, plural(moved, "waiting message was", "waiting messages were"))
		}
		return w.deliver(s.event(KindChatDeclined, user, peer, note, nil, 0))
	})
	if err != nil {
		return StateNone, 0, fmt.Errorf("answer chat %s->%s: %w", peer, user, err)
	}
	return state, moved, nil
}

// Send stores a text from user to receiver. It returns the stored event and
// whether it waits for receiver to accept the chat.
func (s *Service) Send(ctx context.Context, user, receiver string, payload []byte, encryption int32) (Event, bool, error) {
	if err := s.checkRoles(user, "receiver", receiver); err != nil {
		return Event{}, false, err
	}
	if len(payload) == 0 {
		return Event{}, false, Errorf(CodeInvalid, "the message from %s to %s is empty", user, receiver)
	}
	if len(payload) > s.opts.MaxPayload {
		return Event{}, false, Errorf(CodeInvalid, "the message from %s to %s is %d bytes; the limit is %d", user, receiver, len(payload), s.opts.MaxPayload)
	}
	ev := s.event(KindText, user, receiver, "", payload, encryption)
	var pending bool
	err := s.update(ctx, func(w *writer) error {
		c, err := getConversation(w.tx, user, receiver)
		if err != nil {
			return err
		}
		switch {
		case c.State == StateAccepted:
			pending = false
			return w.deliver(ev)
		case c.State == StateRequested && c.Requester == user:
			if len(c.Pending) >= s.opts.MaxPending {
				return Errorf(CodeExhausted, "%s has not answered %s's chat request yet and %d messages already wait", receiver, user, len(c.Pending))
			}
			pending = true
			w.touch(user, receiver)
			c.Pending = append(c.Pending, ev)
			return putConversation(w.tx, user, receiver, c)
		case c.State == StateRequested:
			return Errorf(CodeFailedPrecondition, "%s asked to chat with %s: answer the request first", receiver, user)
		case c.State == StateDeclined && c.Requester == user:
			return Errorf(CodeFailedPrecondition, "%s declined %s's chat request", receiver, user)
		default:
			return Errorf(CodeFailedPrecondition, "%s has not asked %s to chat yet", user, receiver)
		}
	})
	if err != nil {
		return Event{}, false, fmt.Errorf("send %s->%s: %w", user, receiver, err)
	}
	return ev, pending, nil
}

// Receive calls yield with the events of user's inbox after sequence number
// after (0: after the last acknowledged one), in order and in batches: first
// what is stored, then new events as they arrive. It returns when ctx ends or
// yield fails.
func (s *Service) Receive(ctx context.Context, user string, after uint64, yield func([]Event) error) error {
	if err := s.checkUser("receiver", user); err != nil {
		return err
	}
	inbox := InboxLog(user)
	wake, unsubscribe, err := s.broker.Subscribe(ctx, inbox)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", inbox, err)
	}
	defer unsubscribe()
	err = s.store.View(ctx, func(tx Tx) error {
		head, err := tx.Head(inbox)
		if err != nil {
			return err
		}
		if after == 0 {
			after, err = readCursor(tx, user)
			return err
		}
		if after > head {
			return Errorf(CodeOutOfRange, "sequence number %d is past the end of %s's inbox, whose last is %d", after, user, head)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("receive for %s: %w", user, err)
	}
	for {
		var batch []Event
		err := s.store.View(ctx, func(tx Tx) error {
			var err error
			batch, err = tx.Read(inbox, after, s.opts.ReadBatch)
			return err
		})
		if err != nil {
			return fmt.Errorf("read %s after %d: %w", inbox, after, err)
		}
		if len(batch) > 0 {
			if err := yield(batch); err != nil {
				return err
			}
			after = batch[len(batch)-1].Seq
			if len(batch) == s.opts.ReadBatch {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// Ack records that user has shown the inbox up to seq.
func (s *Service) Ack(ctx context.Context, user string, seq uint64) error {
	if err := s.checkUser("user", user); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		head, err := tx.Head(InboxLog(user))
		if err != nil {
			return err
		}
		if seq > head {
			return Errorf(CodeOutOfRange, "sequence number %d is past the end of %s's inbox, whose last is %d", seq, user, head)
		}
		cur, err := readCursor(tx, user)
		if err != nil || seq <= cur {
			return err
		}
		return tx.Put(cursorKey(user), []byte(strconv.FormatUint(seq, 10)))
	})
	if err != nil {
		return fmt.Errorf("ack %s at %d: %w", user, seq, err)
	}
	return nil
}

// DefaultPageSize and MaxPageSize bound a History page.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// History returns up to limit messages of the conversation between user and
// peer with a sequence number below before (0: the newest), oldest first, and
// the before of the next older page (0 when there is none).
func (s *Service) History(ctx context.Context, user, peer string, before uint64, limit int) ([]Event, uint64, error) {
	if err := s.checkPair(user, peer); err != nil {
		return nil, 0, err
	}
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 0 || limit > MaxPageSize:
		return nil, 0, Errorf(CodeInvalid, "page size %d is out of range (1 to %d)", limit, MaxPageSize)
	}
	var page []Event
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		page, err = tx.ReadBefore(DirectLog(user, peer), before, limit)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("history of %s/%s before %d: %w", user, peer, before, err)
	}
	var next uint64
	if len(page) > 0 && page[0].Seq > 1 {
		next = page[0].Seq
	}
	return page, next, nil
}

func readCursor(tx Tx, user string) (uint64, error) {
	raw, err := tx.Get(cursorKey(user))
	if errors.Is(err, ErrNoKey) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	seq, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("decode cursor of %s: %w", user, err)
	}
	return seq, nil
}

func (s *Service) event(kind Kind, from, to, note string, payload []byte, encryption int32) Event {
	return Event{
		ID:         s.opts.NewID(),
		Kind:       kind,
		Sender:     from,
		Receiver:   to,
		SentAt:     s.opts.Now().UTC(),
		Payload:    payload,
		Encryption: encryption,
		Note:       note,
	}
}

func (s *Service) checkUser(role, name string) error {
	switch {
	case name == "":
		return Errorf(CodeInvalid, "no %s given", role)
	case !utf8.ValidString(name):
		return Errorf(CodeInvalid, "the %s name is not valid UTF-8", role)
	case !s.known[name]:
		return Errorf(CodeNotFound, "there is no user named %q", name)
	}
	return nil
}

func (s *Service) checkPair(user, peer string) error {
	return s.checkRoles(user, "peer", peer)
}

// checkRoles checks the caller and the other user, who plays role in the
// request (peer, receiver).
func (s *Service) checkRoles(user, role, peer string) error {
	if err := s.checkUser("user", user); err != nil {
		return err
	}
	if err := s.checkUser(role, peer); err != nil {
		return err
	}
	if user == peer {
		return Errorf(CodeInvalid, "%s cannot chat with themselves", user)
	}
	return nil
}

// update runs fn in one store transaction and, once it is committed, wakes
// the readers of every inbox it appended to.
func (s *Service) update(ctx context.Context, fn func(w *writer) error) error {
	var w *writer
	err := s.store.Update(ctx, func(tx Tx) error {
		w = &writer{s: s, tx: tx, heads: map[string]uint64{}, users: map[string]struct{}{}}
		return fn(w)
	})
	if err != nil {
		return err
	}
	if s.opts.Changed != nil && len(w.users) > 0 {
		users := make([]string, 0, len(w.users))
		for u := range w.users {
			users = append(users, u)
		}
		s.opts.Changed(users)
	}
	for log, head := range w.heads {
		if err := s.broker.Publish(ctx, log, head); err != nil {
			// The event is stored: the reader gets it on its next wake-up or reconnect.
			s.opts.Logger.WarnContext(ctx, "publish failed", "log", log, "head", head, "err", err)
		}
	}
	return nil
}

// writer is a transaction that remembers which inboxes grew and which
// users the change involved.
type writer struct {
	s     *Service
	tx    Tx
	heads map[string]uint64
	users map[string]struct{}
}

// touch records users as involved in the change.
func (w *writer) touch(users ...string) {
	for _, u := range users {
		w.users[u] = struct{}{}
	}
}

// deliver appends ev to its receiver's inbox and, for a text, to the
// conversation's history.
func (w *writer) deliver(ev Event) error {
	w.touch(ev.Sender, ev.Receiver)
	if ev.Kind == KindText {
		if _, err := w.tx.Append(DirectLog(ev.Sender, ev.Receiver), ev); err != nil {
			return fmt.Errorf("append to history: %w", err)
		}
	}
	inbox := InboxLog(ev.Receiver)
	seq, err := w.tx.Append(inbox, ev)
	if err != nil {
		return fmt.Errorf("append to %s: %w", inbox, err)
	}
	w.heads[inbox] = seq
	return nil
}

// accept marks the pair's conversation accepted by user, delivers the
// requester's waiting messages and tells the requester.
func (w *writer) accept(user, requester string, c Conversation) (int, error) {
	if err := putConversation(w.tx, user, requester, Conversation{State: StateAccepted}); err != nil {
		return 0, err
	}
	for _, ev := range c.Pending {
		if err := w.deliver(ev); err != nil {
			return 0, err
		}
	}
	if err := w.deliver(w.s.event(KindChatAccepted, user, requester, "", nil, 0)); err != nil {
		return 0, err
	}
	return len(c.Pending), nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
