package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"connectrpc.com/connect"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/clients/go/keystore"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// mode is what the next line typed means.
type mode int

const (
	choosing  mode = iota // the next line names a user to chat with
	answering             // the next line answers a chat request
	chatting              // lines are messages to the partner
)

const helpText = `[Spartan] Commands: /chat NAME switches to a user (accepting their request) or a group, /decline USER declines USER's request,
[Spartan] /history [N] shows the last N messages (default 20), /users lists the users and who is online,
[Spartan] /groups lists your groups, /group create NAME USER... makes one, /group add NAME USER adds USER to one,
[Spartan] /members [NAME] lists a group's members, /leave [NAME] leaves a group (without NAME: the one you are in),
[Spartan] /whois [USER] shows USER's key fingerprint (or yours), /help shows this, /quit (or Ctrl-D) leaves.
[Spartan] Up and Down recall earlier lines.`

// Retrying the outbox: the first wait and the longest.
const (
	firstRetry = time.Second
	maxRetry   = 5 * time.Second
)

// app is one CLI session's state.
type app struct {
	c       *spartan.Client
	term    terminal
	others  []string
	crypto  *spartan.Crypto
	keys    *keystore.Store
	maxText int // the longest text that fits a message, sealed
	maxPost int // the longest text that fits a group post, sealed

	// keyWait holds the users whose messages wait in the key store for
	// their key (docs/SECURITY.md), told once per wait.
	keyWait map[string]bool

	mode    mode
	partner string          // the user or group chatted with (chatting), or whose request is answered (answering)
	inGroup bool            // partner is a group
	groups  map[string]bool // the groups the user is a member of
	// unreadable holds "group/member" for members told of as unable to
	// read the user's posts (no key yet), told once.
	unreadable map[string]bool
	// keyless holds, by group and sender, the posts that came before the
	// sender's key for them (the user had no key yet when they were sealed):
	// shown when the key comes.
	keyless map[groupSender][]*spartanv1.Message
	asking  []string        // users whose requests wait for an answer, oldest first
	online  map[string]bool // other users with a stream open, as last told
	sub     *spartan.Subscription
	server  string // the server in use, of the -server list

	// outbox holds typed messages the server could not take yet, in order;
	// they go out when it answers again, or as fast as it allows. retry is
	// armed only while it holds something; flushed counts what went since
	// it last was empty; pacing and unreachable say which note was given.
	outbox      []queued
	retry       *time.Timer
	retryIn     time.Duration
	flushed     int
	pacing      bool
	unreachable bool
}

// queued is a typed message, with the id that makes its retries one
// message (the server stores it once however often it arrives). held says
// it is also in the key store's outbox, to be released once sent.
type queued struct {
	to, text, id string
	held         bool
	group        bool // to is a group
}

func newApp(c *spartan.Client, term terminal, login *spartanv1.LoginResponse, keys *keystore.Store) *app {
	a := &app{
		c: c, term: term, others: login.GetOthers(), online: map[string]bool{}, server: c.Addr(),
		keys: keys, maxText: spartan.MaxText(login.GetMaxMessageBytes()), keyWait: map[string]bool{},
		groups: map[string]bool{}, unreadable: map[string]bool{}, maxPost: spartan.MaxPost(login.GetMaxMessageBytes()),
		keyless: map[groupSender][]*spartanv1.Message{},
	}
	for _, g := range login.GetGroups() {
		a.groups[g] = true
	}
	a.crypto = spartan.NewCrypto(c, keys, a.keyChanged)
	for _, u := range login.GetOnline() {
		a.online[u] = true
	}
	return a
}

// run shows the user list, then serves lines typed and messages received
// until the user leaves (exit 0) or the server is gone (exit 1).
func (a *app) run(ctx context.Context, requests []string, giveUp time.Duration) int {
	a.say("User list: " + joinNames(a.others))
	a.publishKey(ctx)
	a.resumeHeld(ctx)
	subCtx, stop := context.WithCancel(ctx)
	a.sub = a.c.Subscribe(subCtx, spartan.SubscribeOptions{GiveUp: giveUp})
	defer func() {
		stop()
		_ = a.sub.Err() // waits for the last acknowledgement
	}()
	defer a.unsent()
	a.asking = append(a.asking, requests...)
	a.choose()
	a.term.Next()
	for {
		var retry <-chan time.Time
		if a.retry != nil {
			retry = a.retry.C
		}
		select {
		case <-ctx.Done():
			return exitOK
		case line, ok := <-a.term.Lines():
			if !ok {
				return exitOK
			}
			if quit := a.handleLine(ctx, line); quit {
				return exitOK
			}
			a.term.Next()
		case <-retry:
			a.retry = nil
			a.flush(ctx)
		case u, ok := <-a.sub.C:
			if !ok {
				if err := a.sub.Err(); err != nil {
					a.say(fmt.Sprintf("Spartan Server is gone: %s.", errMessage(err)))
					return exitServer
				}
				return exitOK
			}
			a.handleUpdate(ctx, u)
		}
	}
}

// say prints a line from the CLI itself.
func (a *app) say(s string) { a.term.Println("[Spartan] " + s) }

// choose goes to the state the brief starts in: answering the oldest waiting
// request, or picking a user.
func (a *app) choose() {
	if len(a.asking) > 0 {
		a.mode, a.partner = answering, a.asking[0]
		a.term.SetPrompt(fmt.Sprintf("[Spartan] %s is requesting to chat with you. Enter 'yes' to accept or different user: ", a.partner))
		return
	}
	a.mode, a.partner, a.inGroup = choosing, "", false
	a.term.SetPrompt("[Spartan] Enter a user whom you want to chat with: ")
}

// startChatting makes peer the partner.
func (a *app) startChatting(ctx context.Context, peer string) {
	a.asking = slices.DeleteFunc(a.asking, func(u string) bool { return u == peer })
	a.mode, a.partner, a.inGroup = chatting, peer, false
	a.say(fmt.Sprintf("You are now ready to chat with %s.", peer))
	switch {
	case a.keyMissing(ctx, peer):
		a.say(noKey(peer))
	case !a.online[peer]:
		a.say(offline(peer))
	}
	a.refreshRequests(ctx) // a request answered elsewhere is no longer waiting
	for _, other := range a.asking {
		a.say(reminder(other))
	}
	a.term.SetPrompt(fmt.Sprintf("[%s] > ", a.c.User()))
}

// reminder tells that user's request waits while the user chats with someone else.
func reminder(user string) string {
	return fmt.Sprintf("%s is requesting to chat with you. Type /chat %s to accept or /decline %s to decline.", user, user, user)
}

// offline tells that user is not connected.
func offline(user string) string {
	return fmt.Sprintf("%s is offline; your messages will wait for them.", user)
}

// refreshRequests makes a.asking the requests the server says still wait,
// keeping the order in which they came. On error it keeps what it has.
func (a *app) refreshRequests(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	login, err := a.c.Login(ctx)
	if err != nil {
		return
	}
	waiting := login.GetChatRequests()
	a.asking = slices.DeleteFunc(a.asking, func(u string) bool { return !slices.Contains(waiting, u) })
	for _, u := range waiting {
		if !slices.Contains(a.asking, u) {
			a.asking = append(a.asking, u)
		}
	}
}

// handleLine acts on one line typed; it returns true when the user leaves.
// A message is sent as typed; everything else ignores surrounding spaces.
func (a *app) handleLine(ctx context.Context, in input) bool {
	typed := in.text
	line := strings.TrimSpace(typed)
	if in.promptChanged && line != "" {
		// Begun as the answer to another question: acting on it now could
		// decline someone or send a name as a message.
		a.say(fmt.Sprintf("The prompt changed while you were typing, so %q was not used.", quote(line)))
		return false
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/quit", "/exit":
		return true
	case "/help":
		a.term.Println(helpText)
		return false
	case "/users":
		a.users()
		return false
	case "/chat":
		a.chatWith(ctx, arg)
		return false
	case "/groups":
		a.listGroups(ctx)
		return false
	case "/group":
		a.groupCommand(ctx, arg)
		return false
	case "/members":
		a.members(ctx, arg)
		return false
	case "/leave":
		a.leave(ctx, arg)
		return false
	case "/decline":
		a.declineCommand(ctx, arg)
		return false
	case "/history":
		a.history(ctx, arg)
		return false
	case "/whois":
		a.whois(ctx, arg)
		return false
	}
	if strings.HasPrefix(line, "/") {
		a.say(fmt.Sprintf("Unknown command %s. Type /help for the commands.", cmd))
		return false
	}
	switch a.mode {
	case choosing:
		if line != "" {
			a.chatWith(ctx, line)
		}
	case answering:
		a.answer(ctx, line)
	case chatting:
		if line != "" {
			a.send(ctx, typed)
		}
	}
	return false
}

// quote is a short, printable prefix of what the user typed.
func quote(s string) string {
	const most = 20
	if r := []rune(s); len(r) > most {
		s = string(r[:most]) + "…"
	}
	return printable(s)
}

// users lists the other users and who of them is online.
func (a *app) users() {
	a.say("User list: " + joinNames(a.others))
	var on []string
	for _, u := range a.others {
		if a.online[u] {
			on = append(on, u)
		}
	}
	if len(on) == 0 {
		a.say("Nobody else is online.")
		return
	}
	a.say("Online now: " + joinNames(on) + ".")
}

// declineCommand is /decline USER.
func (a *app) declineCommand(ctx context.Context, user string) {
	if user == "" {
		a.say("Name a user: /decline USER.")
		return
	}
	if !a.checkPeer(user) {
		return
	}
	a.refreshRequests(ctx)
	if !slices.Contains(a.asking, user) {
		a.say(fmt.Sprintf("%s has not asked to chat with you.", user))
		return
	}
	if !a.decline(ctx, user) {
		return
	}
	a.say(fmt.Sprintf("You declined %s's chat request.", user))
	if a.mode == answering {
		a.choose()
	}
}

// checkPeer says whether name is someone to chat with, and why not if not.
func (a *app) checkPeer(name string) bool {
	switch {
	case name == "":
		a.say("Name a user: /chat USER.")
	case name == a.c.User():
		a.say("You cannot chat with yourself. User list: " + joinNames(a.others))
	case !slices.Contains(a.others, name):
		a.say(fmt.Sprintf("There is no user named %q. User list: %s", name, joinNames(a.others)))
	default:
		return true
	}
	return false
}

// open starts chatting with peer: accepting peer's request if there is one,
// asking peer otherwise.
func (a *app) open(ctx context.Context, peer string) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if slices.Contains(a.asking, peer) {
		if _, err := a.c.AnswerChat(ctx, peer, true); err != nil {
			a.say(fmt.Sprintf("Could not accept %s's request: %s.", peer, errMessage(err)))
			return
		}
	} else {
		res, err := a.c.RequestChat(ctx, peer)
		if err != nil {
			a.say(fmt.Sprintf("Could not ask %s to chat: %s.", peer, errMessage(err)))
			return
		}
		a.online[peer] = res.GetPeerOnline()
	}
	a.startChatting(ctx, peer)
}

// answer handles the line typed at a request prompt: yes accepts; another
// user's name declines and asks that user instead.
func (a *app) answer(ctx context.Context, line string) {
	asker := a.partner
	switch {
	case strings.EqualFold(line, "yes") || strings.EqualFold(line, "y") || line == asker:
		a.open(ctx, asker)
	case line == "":
		return
	case strings.EqualFold(line, "no") && !slices.Contains(a.others, line):
		if a.decline(ctx, asker) {
			a.say(fmt.Sprintf("You declined %s's chat request.", asker))
			a.choose()
		}
	case a.checkPeer(line):
		if a.decline(ctx, asker) {
			a.open(ctx, line)
		}
	}
}

// decline declines asker's request; it says why if that fails.
func (a *app) decline(ctx context.Context, asker string) bool {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := a.c.AnswerChat(ctx, asker, false); err != nil {
		if connect.CodeOf(err) == connect.CodeFailedPrecondition {
			// Answered meanwhile (by another client of this user).
			a.asking = slices.DeleteFunc(a.asking, func(u string) bool { return u == asker })
			a.say(fmt.Sprintf("%s has not asked to chat with you.", asker))
			return false
		}
		a.say(fmt.Sprintf("Could not decline %s's request: %s.", asker, errMessage(err)))
		return false
	}
	a.asking = slices.DeleteFunc(a.asking, func(u string) bool { return u == asker })
	return true
}

// send sends one message to the partner, or queues it behind those that
// wait for the server.
func (a *app) send(ctx context.Context, text string) {
	limit := a.maxText
	if a.inGroup {
		limit = a.maxPost
	}
	if n := len(text); n > limit {
		a.say(fmt.Sprintf("Not sent: the message is %d bytes; the limit is %d.", n, limit))
		return
	}
	a.enqueue(ctx, queued{to: a.partner, text: text, id: spartan.NewMessageID(), group: a.inGroup})
}

// enqueue sends q, or queues it behind what waits: for the server (in
// memory) or for the receiver's key (on disk). It returns false when the
// server refused q for good.
func (a *app) enqueue(ctx context.Context, q queued) bool {
	if !q.group && a.keyWait[q.to] {
		a.holdForKey(q)
		return true
	}
	if len(a.outbox) > 0 {
		a.outbox = append(a.outbox, q) // after the others, in the order typed
		return true
	}
	err := a.sendOne(ctx, q)
	switch {
	case err == nil:
	case errors.Is(err, spartan.ErrNoKey):
		a.holdForKey(q)
	case a.hold(err):
		a.outbox = append(a.outbox, q)
	default:
		a.refused(q, err)
		return false
	}
	return true
}

// refused tells that the server refused q for good (too big, too many
// waiting for an answer...): it is dropped, from the disk too.
func (a *app) refused(q queued, err error) {
	a.say("Not sent: " + errMessage(err) + ".")
	a.sent(q)
}

// sendOne sends q. If the server no longer knows the chat with the partner
// (it lost its data), it asks the partner again and sends once more: the
// message then waits for their answer, as in a new chat.
func (a *app) sendOne(ctx context.Context, q queued) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if q.group {
		return a.post(ctx, q)
	}
	_, err := a.crypto.SendText(ctx, q.to, q.text, q.id)
	if err == nil {
		a.sent(q)
	}
	// A message that waited for a key may find the chat declined meanwhile:
	// that is not a server that lost it.
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || q.held || a.mode != chatting || a.partner != q.to {
		return err
	}
	res, rerr := a.c.RequestChat(ctx, q.to)
	if rerr != nil {
		return err
	}
	a.online[q.to] = res.GetPeerOnline()
	a.say(fmt.Sprintf("The server had lost your chat with %s; asked %s again.", q.to, q.to))
	if _, err = a.crypto.SendText(ctx, q.to, q.text, q.id); err == nil {
		a.sent(q)
	}
	return err
}

// hold says whether a message that failed with err waits in the outbox, and
// if so arms the next try and, once per wait, says why: the server is
// unreachable or failed on its side (tried again with a growing pause), or
// it paces the user's sends (tried again when it says). A refusal of the
// message itself (too big, too many waiting for an answer) is the user's to
// hear, not to retry.
func (a *app) hold(err error) bool {
	if delay, ok := spartan.RetryDelay(err); ok && connect.CodeOf(err) == connect.CodeResourceExhausted {
		if !a.pacing {
			a.pacing = true
			a.say(fmt.Sprintf("The server is pacing your messages (%s); the rest follow in order.", limitOf(err)))
		}
		a.armRetryIn(delay)
		return true
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeAborted,
		connect.CodeUnknown, connect.CodeInternal:
		if !a.unreachable {
			a.unreachable = true
			a.say("Not sent yet: the server is unreachable. What you type waits and is sent, in order, when it is back.")
		}
		a.armRetry()
		return true
	}
	return false
}

// limitOf is the limit a pacing refusal states ("alice may send 15
// messages a second"), without its wait.
func limitOf(err error) string {
	msg := errMessage(err)
	if i := strings.Index(msg, "; try again"); i > 0 {
		msg = msg[:i]
	}
	return msg
}

// flush sends what waits in the outbox, in order, until the server fails
// or paces again; once the outbox is empty it says how many went.
func (a *app) flush(ctx context.Context) {
	for len(a.outbox) > 0 {
		q := a.outbox[0]
		var err error
		if !q.group && a.keyWait[q.to] {
			err = fmt.Errorf("%s %w", q.to, spartan.ErrNoKey)
		} else {
			err = a.sendOne(ctx, q)
		}
		if err != nil && !errors.Is(err, spartan.ErrNoKey) && a.hold(err) {
			return
		}
		a.outbox = a.outbox[1:]
		if errors.Is(err, spartan.ErrNoKey) {
			a.holdForKey(q)
			continue
		}
		if err != nil {
			a.refused(q, err)
			continue
		}
		a.flushed++
	}
	if a.flushed > 0 {
		a.say(fmt.Sprintf("Sent %s.", plural(a.flushed, "waiting message", "waiting messages")))
	}
	a.outbox, a.flushed, a.retryIn = nil, 0, 0
	a.pacing, a.unreachable = false, false
	if a.retry != nil {
		a.retry.Stop()
		a.retry = nil
	}
}

// armRetryIn schedules the next try of the outbox after d.
func (a *app) armRetryIn(d time.Duration) {
	if a.retry != nil {
		a.retry.Stop()
	}
	a.retry = time.NewTimer(d)
}

// armRetry schedules the next try of the outbox, waiting longer each time.
func (a *app) armRetry() {
	a.retryIn = min(max(a.retryIn*2, firstRetry), maxRetry)
	a.armRetryIn(a.retryIn)
}

// unsent says how many typed messages never left, as the CLI exits.
func (a *app) unsent() {
	switch n := len(a.outbox); n {
	case 0:
	case 1:
		a.say("1 message you typed was not sent.")
	default:
		a.say(fmt.Sprintf("%d messages you typed were not sent.", n))
	}
}

// plural is "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// history prints the last N messages with the partner, paging as needed.
func (a *app) history(ctx context.Context, arg string) {
	n := 20
	if arg != "" {
		v, err := strconv.Atoi(arg)
		switch {
		case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(arg, "-"):
			n = math.MaxInt // more than there can be: all of them
		case err != nil || v < 1:
			a.say(fmt.Sprintf("/history takes a number of messages (1 or more), not %q.", arg))
			return
		default:
			n = v
		}
	}
	if a.mode != chatting {
		a.say("Pick a user first: /history shows the conversation with the user you chat with.")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var msgs []*spartanv1.Message
	for before := uint64(0); len(msgs) < n; {
		history := a.c.History
		if a.inGroup {
			history = a.c.GroupHistory
		}
		page, next, err := history(ctx, a.partner, before, min(n-len(msgs), maxHistoryPage))
		if err != nil {
			a.say("No history: " + errMessage(err) + ".")
			return
		}
		msgs = append(page, msgs...)
		if next == 0 {
			break
		}
		before = next
	}
	switch len(msgs) {
	case 0:
		a.say(fmt.Sprintf("No messages with %s yet.", a.partner))
		return
	case 1:
		a.say(fmt.Sprintf("The last message with %s:", a.partner))
	default:
		a.say(fmt.Sprintf("The last %d messages with %s:", len(msgs), a.partner))
	}
	for _, m := range msgs {
		a.term.Println(a.render(ctx, m))
	}
}

// maxHistoryPage is the largest page the History RPC serves.
const maxHistoryPage = 500

// handleUpdate shows what the subscription reports.
func (a *app) handleUpdate(ctx context.Context, u spartan.Update) {
	switch {
	case u.Disconnected != nil:
		a.say("Lost connection to Spartan Server; reconnecting...")
		return
	case u.Reconnected:
		if u.Server != "" && u.Server != a.server {
			a.server = u.Server
			a.say(fmt.Sprintf("Moved to Spartan Server at %s.", u.Server))
		} else {
			a.say("Reconnected.")
		}
		a.publishKey(ctx)
		a.recheckKeys(ctx)
		a.flush(ctx)
		return
	}
	m := u.Message
	defer a.sub.Ack(m)
	from := m.GetSender()
	switch m.GetType() {
	case spartanv1.MessageType_MESSAGE_TYPE_TEXT:
		a.showText(ctx, m)
	case spartanv1.MessageType_MESSAGE_TYPE_KEY_PUBLISHED:
		a.keyPublished(ctx, from)
	case spartanv1.MessageType_MESSAGE_TYPE_GROUP_CHANGED:
		a.groupChanged(ctx, m)
	case spartanv1.MessageType_MESSAGE_TYPE_GROUP_KEY:
		a.groupKey(ctx, m)
	case spartanv1.MessageType_MESSAGE_TYPE_CHAT_REQUEST:
		a.requested(ctx, from)
	case spartanv1.MessageType_MESSAGE_TYPE_CHAT_ACCEPTED:
		a.say(fmt.Sprintf("%s accepted your chat request.", from))
	case spartanv1.MessageType_MESSAGE_TYPE_PRESENCE:
		was := a.online[from]
		a.online[from] = m.GetOnline()
		if was != m.GetOnline() && a.mode == chatting && a.partner == from {
			if m.GetOnline() {
				a.say(fmt.Sprintf("%s is online.", from))
			} else {
				a.say(offline(from))
			}
		}
	case spartanv1.MessageType_MESSAGE_TYPE_CHAT_DECLINED:
		a.say(m.GetNote())
		a.dropHeld(from)
		if a.mode == chatting && a.partner == from {
			a.choose()
		}
	default:
		if m.GetNote() != "" {
			a.say(m.GetNote())
		}
	}
}

// requested handles a chat request from a user.
func (a *app) requested(ctx context.Context, from string) {
	if slices.Contains(a.asking, from) {
		return // already waiting for an answer (listed at login, then replayed)
	}
	if !a.stillAsking(ctx, from) {
		return // a replayed request that was answered already
	}
	if a.mode == chatting && a.partner == from {
		// The partner asks again (a server that lost its state): we are
		// chatting already, so accept without asking. FailedPrecondition
		// means the request went meanwhile: nothing to do.
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		if _, err := a.c.AnswerChat(ctx, from, true); err != nil && connect.CodeOf(err) != connect.CodeFailedPrecondition {
			a.say(fmt.Sprintf("Could not accept %s's request: %s.", from, errMessage(err)))
		}
		return
	}
	a.asking = append(a.asking, from)
	switch a.mode {
	case choosing:
		a.choose() // the brief: the request prompt replaces "Enter a user"
	case chatting:
		a.say(reminder(from))
	case answering:
		a.say(fmt.Sprintf("%s is requesting to chat with you too; answer %s first.", from, a.partner))
	}
}

// stillAsking says whether from's request still waits for an answer: the
// stream replays what was not acknowledged, which may include a request
// answered since (by another client, or before a crash).
func (a *app) stillAsking(ctx context.Context, from string) bool {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	login, err := a.c.Login(ctx)
	if err != nil {
		return true // cannot tell: better to ask than to miss a request
	}
	return slices.Contains(login.GetChatRequests(), from)
}

// printable makes a message safe to print on a terminal: a sender must not
// be able to clear the screen, move the cursor or forge a [Spartan] line. A
// newline shows as ↵, any other control character but tab as U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return '↵'
		case r == '\t' || !unicode.IsControl(r):
			return r
		}
		return utf8.RuneError
	}, s)
}

func joinNames(names []string) string { return strings.Join(names, ",") }
