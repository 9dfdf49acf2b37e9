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
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// mode is what the next line typed means.
type mode int

const (
	choosing  mode = iota // the next line names a user to chat with
	answering             // the next line answers a chat request
	chatting              // lines are messages to the partner
)

const helpText = `[Spartan] Commands: /chat USER switches to USER, /history [N] shows the last N messages (default 20),
[Spartan] /users lists the users, /help shows this, /quit (or Ctrl-D) leaves.`

// app is one CLI session's state.
type app struct {
	c      *spartan.Client
	term   terminal
	others []string

	mode    mode
	partner string   // the user chatted with (chatting), or whose request is answered (answering)
	asking  []string // users whose requests wait for an answer, oldest first
	sub     *spartan.Subscription
}

func newApp(c *spartan.Client, term terminal, others []string) *app {
	return &app{c: c, term: term, others: others}
}

// run shows the user list, then serves lines typed and messages received
// until the user leaves (exit 0) or the server is gone (exit 1).
func (a *app) run(ctx context.Context, requests []string, giveUp time.Duration) int {
	a.say("User list: " + joinNames(a.others))
	subCtx, stop := context.WithCancel(ctx)
	a.sub = a.c.Subscribe(subCtx, spartan.SubscribeOptions{GiveUp: giveUp})
	defer func() {
		stop()
		_ = a.sub.Err() // waits for the last acknowledgement
	}()
	a.asking = append(a.asking, requests...)
	a.choose()
	a.term.Next()
	for {
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
	a.mode, a.partner = choosing, ""
	a.term.SetPrompt("[Spartan] Enter a user whom you want to chat with: ")
}

// startChatting makes peer the partner.
func (a *app) startChatting(peer string) {
	a.asking = slices.DeleteFunc(a.asking, func(u string) bool { return u == peer })
	a.mode, a.partner = chatting, peer
	a.say(fmt.Sprintf("You are now ready to chat with %s.", peer))
	for _, other := range a.asking {
		a.say(fmt.Sprintf("%s is requesting to chat with you. Type /chat %s to accept.", other, other))
	}
	a.term.SetPrompt(fmt.Sprintf("[%s] > ", a.c.User()))
}

// handleLine acts on one line typed; it returns true when the user leaves.
// A message is sent as typed; everything else ignores surrounding spaces.
func (a *app) handleLine(ctx context.Context, typed string) bool {
	line := strings.TrimSpace(typed)
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/quit", "/exit":
		return true
	case "/help":
		a.term.Println(helpText)
		return false
	case "/users":
		a.say("User list: " + joinNames(a.others))
		return false
	case "/chat":
		if a.checkPeer(arg) {
			a.open(ctx, arg)
		}
		return false
	case "/history":
		a.history(ctx, arg)
		return false
	}
	if strings.HasPrefix(line, "/") {
		a.say(fmt.Sprintf("Unknown command %s. Type /help for the commands.", cmd))
		return false
	}
	switch a.mode {
	case choosing:
		if line != "" && a.checkPeer(line) {
			a.open(ctx, line)
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
	} else if _, err := a.c.RequestChat(ctx, peer); err != nil {
		a.say(fmt.Sprintf("Could not ask %s to chat: %s.", peer, errMessage(err)))
		return
	}
	a.startChatting(peer)
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
		a.say(fmt.Sprintf("Could not decline %s's request: %s.", asker, errMessage(err)))
		return false
	}
	a.asking = slices.DeleteFunc(a.asking, func(u string) bool { return u == asker })
	return true
}

// send sends one message to the partner.
func (a *app) send(ctx context.Context, text string) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := a.c.SendText(ctx, a.partner, text); err != nil {
		a.say("Not sent: " + errMessage(err) + ".")
	}
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
		page, next, err := a.c.History(ctx, a.partner, before, min(n-len(msgs), maxHistoryPage))
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
		a.term.Println(fmt.Sprintf("[%s] %s", m.GetSender(), text(m)))
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
		a.say("Reconnected.")
		return
	}
	m := u.Message
	defer a.sub.Ack(m.GetSeq())
	from := m.GetSender()
	switch m.GetType() {
	case spartanv1.MessageType_MESSAGE_TYPE_TEXT:
		a.term.Println(fmt.Sprintf("[%s] %s", from, text(m)))
	case spartanv1.MessageType_MESSAGE_TYPE_CHAT_REQUEST:
		a.requested(ctx, from)
	case spartanv1.MessageType_MESSAGE_TYPE_CHAT_ACCEPTED:
		a.say(fmt.Sprintf("%s accepted your chat request.", from))
	case spartanv1.MessageType_MESSAGE_TYPE_CHAT_DECLINED:
		a.say(m.GetNote())
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
		a.say(fmt.Sprintf("%s is requesting to chat with you. Type /chat %s to accept.", from, from))
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

// text is a message's payload for display.
func text(m *spartanv1.Message) string {
	if m.GetEncryption() != spartanv1.Encryption_ENCRYPTION_PLAINTEXT && m.GetEncryption() != spartanv1.Encryption_ENCRYPTION_UNSPECIFIED {
		return fmt.Sprintf("(%d bytes this client cannot decrypt)", len(m.GetPayload()))
	}
	if !utf8.Valid(m.GetPayload()) {
		return fmt.Sprintf("(%d bytes that are not text)", len(m.GetPayload()))
	}
	return printable(spartan.Text(m))
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
