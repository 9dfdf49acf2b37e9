package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Options are a Service's settings; zero fields take the defaults below.
type Options struct {
	// Users are the configured users, in configuration order.
	Users []string
	// Groups are the configured groups and their members; a group's name is
	// never a user's.
	Groups map[string][]string
	// AuthKeys pins users' Ed25519 log-in keys; the others are taken on
	// first use.
	AuthKeys map[string][]byte
	// MaxStreams bounds the streams (Receive) one user may have open on
	// this server at once (0: no bound).
	MaxStreams int
	// MaxPayload is the largest payload Send accepts, in bytes (default 64 KiB).
	MaxPayload int
	// MaxPending is how many messages may wait for a chat request's answer (default 100).
	MaxPending int
	// ReadBatch is how many events Receive reads from the store at a time (default 256).
	ReadBatch int
	// ReadBatchBytes bounds the bytes of one such read (by Event.Size;
	// default 512 KiB): what a stream holds while its client does not read.
	ReadBatchBytes int
	// Now tells the time (default time.Now).
	Now func() time.Time
	// NewID makes a unique event id (required).
	NewID func() string
	// Logger receives the core's warnings (default slog.Default()).
	Logger *slog.Logger
	// Retention bounds what the store keeps (zero: everything).
	Retention Retention
	// Reopening, if set, says whether a stream whose context ended is to be
	// opened again by its client at once (the server ended it because its
	// session token expired). Its user then stays online for Linger, so that
	// the others are not told they left and came back.
	Reopening func(ctx context.Context) bool
	// Linger is how long a user stays online after a stream that Reopening
	// names ended (default 5s).
	Linger time.Duration
	// Changed, if set, is called after every committed change to messages
	// or conversations with the users it involved, before the call that made
	// it returns. Response caches use it to drop what the change made stale.
	Changed func(users []string)
}

// Service is the chat core. It is safe for concurrent use.
type Service struct {
	opts   Options
	known  map[string]int   // the configured users, by name: their index in Options.Users
	groups map[string]Group // the configured ones
	store  Store

	streamsMu sync.Mutex
	streams   map[string]int // open streams by user
	broker    Broker
	presence  Presence
}

// NewService returns the core over a store, a broker and a presence tracker.
func NewService(store Store, broker Broker, presence Presence, opts Options) *Service {
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = 64 << 10
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100
	}
	if opts.ReadBatch <= 0 {
		opts.ReadBatch = 256
	}
	if opts.ReadBatchBytes <= 0 {
		opts.ReadBatchBytes = 512 << 10
	}
	if opts.Linger <= 0 {
		opts.Linger = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	known := make(map[string]int, len(opts.Users))
	for i, u := range opts.Users {
		known[u] = i
	}
	return &Service{opts: opts, known: known, groups: configuredGroups(opts.Groups), store: store, broker: broker, presence: presence, streams: map[string]int{}}
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
	// Online are the other users who have a stream open, in configuration order.
	Online []string
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
	online, err := s.presence.Online(ctx, sess.Others)
	if err != nil {
		return Session{}, fmt.Errorf("log in %s: presence: %w", user, err)
	}
	for _, other := range sess.Others {
		if online[other] {
			sess.Online = append(sess.Online, other)
		}
	}
	return sess, nil
}

// Online says whether user has a stream open.
func (s *Service) Online(ctx context.Context, user string) (bool, error) {
	if err := s.checkUser("user", user); err != nil {
		return false, err
	}
	on, err := s.presence.Online(ctx, []string{user})
	if err != nil {
		return false, fmt.Errorf("presence of %s: %w", user, err)
	}
	return on[user], nil
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
		if err := startConversation(w.tx, user, peer, StateRequested, user); err != nil {
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
		state = StateDeclined
		if moved, err = pendingCount(w.tx, user, peer, c); err != nil {
			return err
		}
		if err := startConversation(w.tx, user, peer, StateDeclined, peer); err != nil {
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
// whether it waits for receiver to accept the chat. With a clientID (the
// id the sender's client gave the message), a repeat of a send already
// stored returns the first result and stores nothing (see SendWindow).
func (s *Service) Send(ctx context.Context, user, receiver string, payload []byte, encryption int32, clientID string) (Event, bool, error) {
	out, err := s.SendBatch(ctx, user, []Outgoing{{Receiver: receiver, Payload: payload, Encryption: encryption, ClientID: clientID}})
	if err != nil {
		return Event{}, false, err
	}
	return out[0].Event, out[0].Pending, nil
}

// checkPayload checks the size of a payload from user to receiver (a user
// or a group).
func (s *Service) checkPayload(user, receiver string, payload []byte) error {
	if len(payload) == 0 {
		return Errorf(CodeInvalid, "the message from %s to %s is empty", user, receiver)
	}
	if len(payload) > s.opts.MaxPayload {
		return Errorf(CodeInvalid, "the message from %s to %s is %d bytes; the limit is %d", user, receiver, len(payload), s.opts.MaxPayload)
	}
	return nil
}

// send delivers a text, or keeps it waiting for the answer to its sender's
// request; it says whether it waits.
func (w *writer) send(ev Event) (bool, error) {
	user, receiver := ev.Sender, ev.Receiver
	c, err := getConversation(w.tx, user, receiver)
	if err != nil {
		return false, err
	}
	switch {
	case c.State == StateAccepted:
		return false, w.deliver(ev)
	case c.State == StateRequested && c.Requester == user:
		waiting, err := pendingCount(w.tx, user, receiver, c)
		if err != nil {
			return false, err
		}
		if waiting >= w.s.opts.MaxPending {
			return false, Errorf(CodeExhausted, "%s has not answered %s's chat request yet and %d messages already wait", receiver, user, waiting)
		}
		w.touch(user, receiver)
		if _, err := w.tx.Append(PendingLog(user, receiver), ev); err != nil {
			return false, fmt.Errorf("append to the pending log: %w", err)
		}
		return true, nil
	case c.State == StateRequested:
		return false, Errorf(CodeFailedPrecondition, "%s asked to chat with %s: answer the request first", receiver, user)
	case c.State == StateDeclined && c.Requester == user:
		return false, Errorf(CodeFailedPrecondition, "%s declined %s's chat request", receiver, user)
	default:
		return false, Errorf(CodeFailedPrecondition, "%s has not asked %s to chat yet", user, receiver)
	}
}

// Receive calls yield with the events of user's inbox after sequence number
// after (0: after the last acknowledged one) of epoch (the store's epoch the
// client saw; "" if it does not know), in order and in batches: first
// what is stored, then new events as they arrive. Presence events (not
// stored, Seq 0) come in between: first one for every other user, online or
// not, then one whenever another user comes online or goes offline. Each stored
// event carries the store's epoch. A position from another epoch resumes
// after the acknowledged position of this one, and the stream starts with a
// system notice (live only) saying that messages were lost. While it runs,
// user counts as online. It returns when ctx ends or yield fails.
func (s *Service) Receive(ctx context.Context, user string, after uint64, epoch string, yield func([]Event) error) error {
	if err := s.checkUser("receiver", user); err != nil {
		return err
	}
	if err := s.openStream(user); err != nil {
		return err
	}
	defer s.closeStream(user)
	inbox := InboxLog(user)
	wake, unsubscribe, err := s.broker.Subscribe(ctx, inbox)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", inbox, err)
	}
	defer unsubscribe()
	lost := false
	var current string
	err = s.store.View(ctx, func(tx Tx) error {
		head, err := tx.Head(inbox)
		if err != nil {
			return err
		}
		if current, err = readEpoch(tx); err != nil {
			return err
		}
		lost = after > 0 && epoch != "" && epoch != current
		if after == 0 || lost {
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
	watch, err := s.presence.Watch(ctx)
	if err != nil {
		return fmt.Errorf("watch presence for %s: %w", user, err)
	}
	defer watch.Close()
	disconnect, err := s.presence.Connect(ctx, user)
	if err != nil {
		return fmt.Errorf("connect %s: %w", user, err)
	}
	defer func() {
		if s.opts.Reopening != nil && s.opts.Reopening(ctx) {
			time.AfterFunc(s.opts.Linger, disconnect)
			return
		}
		disconnect()
	}()
	if lost && current == "" {
		// The new store has stored nothing yet: make its epoch now, so that
		// the notice can carry it.
		if current, err = s.ensureEpoch(ctx); err != nil {
			return fmt.Errorf("receive for %s: %w", user, err)
		}
	}
	// notice yields a live-only system notice; one that messages were lost
	// carries the new epoch, so that a client that reconnects before any
	// message of it arrives resumes in it and is not told twice.
	notice := func(note, epoch string) error {
		return yield([]Event{{Kind: KindSystem, Receiver: user, SentAt: s.opts.Now().UTC(), Note: note, Epoch: epoch}})
	}
	if lost {
		if err := notice(lostNote, current); err != nil {
			return err
		}
	}
	// The presence this stream has told, per user; nobody yet, so the first
	// call tells everyone's.
	shown := make([]told, len(s.opts.Users))
	if err := s.presenceChanges(ctx, user, s.opts.Users, shown, yield); err != nil {
		return err
	}
	for {
		var (
			batch        []Event
			cursor, head uint64
			replaced     bool
		)
		err := s.store.View(ctx, func(tx Tx) error {
			now, err := readEpoch(tx)
			if err != nil {
				return err
			}
			if current != "" && now != current {
				// The store was replaced under the stream (a Redis flushed):
				// its inbox starts again, after this epoch's acknowledged
				// position.
				replaced = true
				if after, err = readCursor(tx, user); err != nil {
					return err
				}
			}
			current = now
			if head, err = tx.Head(inbox); err != nil {
				return err
			}
			if batch, err = tx.Read(inbox, after, s.opts.ReadBatch, s.opts.ReadBatchBytes); err != nil || len(batch) == 0 || batch[0].Seq == after+1 {
				return err
			}
			cursor, err = readCursor(tx, user)
			return err
		})
		for i := range batch {
			batch[i].Epoch = current
		}
		if err != nil {
			return fmt.Errorf("read %s after %d: %w", inbox, after, err)
		}
		if replaced {
			if err := notice(lostNote, current); err != nil {
				return err
			}
		}
		if len(batch) > 0 {
			// A gap before the batch is what retention trimmed; those the
			// user had not acknowledged, the user must hear of.
			if from := max(after, cursor) + 1; batch[0].Seq > from {
				if err := notice(droppedNote(batch[0].Seq-from), ""); err != nil {
					return err
				}
			}
			if err := yield(batch); err != nil {
				return err
			}
			after = batch[len(batch)-1].Seq
			if after < head {
				continue // cut short by count or bytes: read on at once
			}
		}
		for wait := true; wait; {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-wake:
				wait = false
			case <-watch.C():
				if err := s.presenceChanges(ctx, user, watch.Changed(), shown, yield); err != nil {
					return err
				}
			}
		}
	}
}

// openStream counts a stream of user, refusing one past MaxStreams.
func (s *Service) openStream(user string) error {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.opts.MaxStreams > 0 && s.streams[user] >= s.opts.MaxStreams {
		return Errorf(CodeExhausted, "%s has %d streams open on this server already, the most allowed; close one first", user, s.streams[user])
	}
	s.streams[user]++
	return nil
}

// closeStream counts a stream of user gone.
func (s *Service) closeStream(user string) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.streams[user]--; s.streams[user] <= 0 {
		delete(s.streams, user)
	}
}

// told is what a stream has told of a user's presence.
type told uint8

const (
	toldNothing told = iota
	toldOffline
	toldOnline
)

// presenceChanges yields a presence event for each of users (but the
// receiver) whose presence differs from what shown (by user index) says
// the stream told, or that the stream has not told yet, and records it in
// shown. A byte a user: a stream of a server with thousands of users keeps
// little.
func (s *Service) presenceChanges(ctx context.Context, receiver string, users []string, shown []told, yield func([]Event) error) error {
	online, err := s.presence.Online(ctx, users)
	if err != nil {
		return fmt.Errorf("presence for %s: %w", receiver, err)
	}
	var batch []Event
	for _, u := range users {
		i, ok := s.known[u]
		if u == receiver || !ok {
			continue
		}
		now := toldOffline
		if online[u] {
			now = toldOnline
		}
		if shown[i] == now {
			continue
		}
		shown[i] = now
		batch = append(batch, Event{Kind: KindPresence, Sender: u, Receiver: receiver, SentAt: s.opts.Now().UTC(), Online: online[u]})
	}
	if len(batch) == 0 {
		return nil
	}
	return yield(batch)
}

// Ack records that user has shown the inbox up to seq of epoch ("": the
// client does not know the epoch). A position from another epoch is
// refused (FailedPrecondition): it would skip messages of this one.
func (s *Service) Ack(ctx context.Context, user string, seq uint64, epoch string) error {
	if err := s.checkUser("user", user); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		if epoch != "" {
			current, err := readEpoch(tx)
			if err != nil {
				return err
			}
			if epoch != current {
				return Errorf(CodeFailedPrecondition, "the server has lost the messages of epoch %q; the inbox of %s starts again", quoteInput(epoch), user)
			}
		}
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

// DefaultPageSize and MaxPageSize bound a History page by count, and
// MaxPageBytes by size (Event.Size): a page of large messages holds fewer,
// so that an encoded page stays well under gRPC's common 4 MiB limit.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
	MaxPageBytes    = 3 << 20
)

// History returns up to limit messages of the conversation between user and
// peer with a sequence number below before (0: the newest), oldest first, and
// the before of the next older page (0 when there is none).
func (s *Service) History(ctx context.Context, user, peer string, before uint64, limit int) ([]Event, uint64, error) {
	if err := s.checkPair(user, peer); err != nil {
		return nil, 0, err
	}
	limit, err := pageSize(limit)
	if err != nil {
		return nil, 0, err
	}
	var page []Event
	err = s.store.View(ctx, func(tx Tx) error {
		var err error
		page, err = tx.ReadBefore(DirectLog(user, peer), before, limit, MaxPageBytes)
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

// GroupHistory is History for the group name, of which user must be a
// member: its posts since user joined.
func (s *Service) GroupHistory(ctx context.Context, user, name string, before uint64, limit int) ([]Event, uint64, error) {
	if err := s.checkUser("user", user); err != nil {
		return nil, 0, err
	}
	limit, err := pageSize(limit)
	if err != nil {
		return nil, 0, err
	}
	return s.groupHistory(ctx, user, name, before, limit)
}

// pageSize checks a History page size; 0 is the default.
func pageSize(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultPageSize, nil
	case limit < 0 || limit > MaxPageSize:
		return 0, Errorf(CodeInvalid, "page size %d is out of range (1 to %d)", limit, MaxPageSize)
	}
	return limit, nil
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

// isUser says whether name is a configured user.
func (s *Service) isUser(name string) bool {
	_, ok := s.known[name]
	return ok
}

func (s *Service) checkUser(role, name string) error {
	switch {
	case name == "":
		return Errorf(CodeInvalid, "no %s given", role)
	case !utf8.ValidString(name):
		return Errorf(CodeInvalid, "the %s name is not valid UTF-8", role)
	case !s.isUser(name):
		return Errorf(CodeNotFound, "there is no user named %q", quoteInput(name))
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
	// epochKnown says the store's epoch exists (ensureEpoch ran).
	epochKnown bool
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
	if ev.Kind == KindText {
		dm := DirectLog(ev.Sender, ev.Receiver)
		seq, err := w.tx.Append(dm, ev)
		if err != nil {
			return fmt.Errorf("append to history: %w", err)
		}
		if err := w.retain(dm, seq, ""); err != nil {
			return err
		}
	}
	return w.toInbox(ev)
}

// toInbox appends ev to its receiver's inbox.
func (w *writer) toInbox(ev Event) error {
	if err := w.ensureEpoch(); err != nil {
		return err
	}
	w.touch(ev.Sender, ev.Receiver)
	inbox := InboxLog(ev.Receiver)
	seq, err := w.tx.Append(inbox, ev)
	if err != nil {
		return fmt.Errorf("append to %s: %w", inbox, err)
	}
	w.heads[inbox] = seq
	return w.retain(inbox, seq, ev.Receiver)
}

// accept marks the pair's conversation accepted by user, delivers the
// requester's waiting messages and tells the requester.
func (w *writer) accept(user, requester string, c Conversation) (int, error) {
	waiting, err := pendingEvents(w.tx, user, requester, c)
	if err != nil {
		return 0, err
	}
	if err := startConversation(w.tx, user, requester, StateAccepted, ""); err != nil {
		return 0, err
	}
	for _, ev := range waiting {
		if err := w.deliver(ev); err != nil {
			return 0, err
		}
	}
	if err := w.deliver(w.s.event(KindChatAccepted, user, requester, "", nil, 0)); err != nil {
		return 0, err
	}
	return len(waiting), nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
