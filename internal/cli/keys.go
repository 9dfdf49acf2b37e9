package cli

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/clients/go/e2e"
	"github.com/spartan-messenger/spartan/clients/go/keystore"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// This file is the CLI's end-to-end encryption (docs/SECURITY.md): keys,
// messages that wait for a receiver's key, warnings, /whois.

// holdForKey keeps q on disk until its receiver publishes a key, and says
// so once per wait.
func (a *app) holdForKey(q queued) {
	if !q.held {
		if err := a.keys.Hold(keystore.Waiting{To: q.to, ClientMsgID: q.id, Text: q.text}); err != nil {
			a.say(fmt.Sprintf("Not sent: %s has not set up encryption yet, and the message could not be kept: %v.", q.to, err))
			return
		}
	}
	if !a.keyWait[q.to] {
		a.keyWait[q.to] = true
		a.say(noKey(q.to))
	}
}

// noKey tells that messages to user wait for user's key.
func noKey(user string) string {
	return fmt.Sprintf("%s has not set up encryption yet; your messages will be sent when %s connects.", user, user)
}

// keyMissing says whether user has no key, so that messages to user wait
// on disk; it learns user's key when there is one.
func (a *app) keyMissing(ctx context.Context, user string) bool {
	if a.keyWait[user] {
		return true
	}
	if _, ok := a.keys.Contact(user); ok {
		// The key on file may be old: a peer who set up Spartan again while
		// the two were not chatting was announced to nobody here. Asking at
		// the chat's start warns of a change (onChange); failing to ask
		// leaves the key on file.
		_, _ = a.crypto.Refresh(ctx, user)
		return false
	}
	if _, err := a.crypto.Refresh(ctx, user); errors.Is(err, spartan.ErrNoKey) {
		a.keyWait[user] = true
		return true
	}
	return false
}

// resumeHeld, at start, sends the messages an earlier run kept for a key
// that is there now, and tells of the others.
func (a *app) resumeHeld(ctx context.Context) {
	var users []string
	for _, w := range a.keys.Waiting("") {
		if !slices.Contains(users, w.To) {
			users = append(users, w.To)
		}
	}
	for _, u := range users {
		a.keyWait[u] = true
		kctx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := a.crypto.Refresh(kctx, u)
		cancel()
		if err == nil {
			a.releaseHeld(ctx, u)
			continue
		}
		n := len(a.keys.Waiting(u))
		if n == 1 {
			a.say(fmt.Sprintf("1 message to %s waits until %s sets up encryption.", u, u))
		} else {
			a.say(fmt.Sprintf("%d messages to %s wait until %s sets up encryption.", n, u, u))
		}
	}
}

// releaseHeld sends, in order, what waits on disk for user's key.
func (a *app) releaseHeld(ctx context.Context, user string) {
	if !a.keyWait[user] {
		return
	}
	delete(a.keyWait, user)
	sent := 0
	for _, w := range a.keys.Waiting(user) {
		if a.enqueue(ctx, queued{to: w.To, text: w.Text, id: w.ClientMsgID, held: true}) {
			sent++
		}
	}
	if sent > 0 {
		a.say(fmt.Sprintf("%s has set up encryption; sent %s.", user, plural(sent, "waiting message", "waiting messages")))
	}
}

// recheckKeys, after a reconnection, looks again for the key of every user
// whose messages wait for one: a server that lost its data sends no
// KEY_PUBLISHED event for a key published meanwhile.
func (a *app) recheckKeys(ctx context.Context) {
	for _, u := range slices.Sorted(maps.Keys(a.keyWait)) {
		kctx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := a.crypto.Refresh(kctx, u)
		cancel()
		if err == nil {
			a.releaseHeld(ctx, u)
		}
	}
}

// dropHeld drops what waits for user's key: user declined the chat.
func (a *app) dropHeld(user string) {
	held := a.keys.Waiting(user)
	delete(a.keyWait, user)
	for _, w := range held {
		a.sent(queued{id: w.ClientMsgID, held: true})
	}
	switch n := len(held); n {
	case 0:
	case 1:
		a.say(fmt.Sprintf("1 message that waited for %s's key was not sent.", user))
	default:
		a.say(fmt.Sprintf("%d messages that waited for %s's key were not sent.", n, user))
	}
}

// sent is what follows a message the server took, or refused for good: it
// no longer waits on disk.
func (a *app) sent(q queued) {
	if !q.held {
		return
	}
	if err := a.keys.Release(q.id); err != nil {
		a.say(fmt.Sprintf("A sent message stays in %s: %v.", a.keys.Dir(), err))
	}
}

// publishKey publishes the user's key: at start, and after reconnecting
// (a server that lost its data lost the key too).
func (a *app) publishKey(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := a.crypto.Publish(ctx); err != nil {
		a.say(fmt.Sprintf("Could not publish your encryption key: %s; others cannot write to you until it is.", errMessage(err)))
	}
}

// keyChanged warns that a contact's key changed.
func (a *app) keyChanged(k spartan.KeyChange) {
	a.say(fmt.Sprintf("WARNING: %s's encryption key has changed (was %s, now %s). %s may have set up Spartan again, "+
		"or someone may be trying to read your messages: compare fingerprints with %s (/whois %s) before you share anything secret.",
		k.User, fingerprint(k.Old), fingerprint(k.New), k.User, k.User, k.User))
}

// fingerprint is a public key's fingerprint.
func fingerprint(pub []byte) string {
	k, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return "(not a key)"
	}
	return e2e.Fingerprint(k)
}

// whois is /whois [USER].
func (a *app) whois(ctx context.Context, user string) {
	if user == "" || user == a.c.User() {
		a.say(fmt.Sprintf("Your key fingerprint: %s.", a.crypto.Fingerprint()))
		return
	}
	if !slices.Contains(a.others, user) {
		a.say(fmt.Sprintf("There is no user named %q. User list: %s", user, joinNames(a.others)))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	key, err := a.crypto.Refresh(ctx, user)
	switch {
	case errors.Is(err, spartan.ErrNoKey):
		a.say(fmt.Sprintf("%s has not set up encryption yet.", user))
	case err != nil:
		a.say(fmt.Sprintf("Could not get %s's key: %s.", user, errMessage(err)))
	default:
		c, _ := a.keys.Contact(user)
		a.say(fmt.Sprintf("%s's key fingerprint: %s (first seen %s).", user, fingerprint(key), c.FirstSeen.Local().Format(time.DateOnly)))
	}
}

// keyPublished acts on user's new key: it checks it against the one
// trusted (warning if it changed) and sends what waited for it.
func (a *app) keyPublished(ctx context.Context, user string) {
	kctx, cancel := context.WithTimeout(ctx, callTimeout)
	_, err := a.crypto.Refresh(kctx, user)
	cancel()
	switch {
	case errors.Is(err, spartan.ErrNoKey):
		// Replaced since by a server that lost it: the next event brings it.
	case err != nil:
		a.say(fmt.Sprintf("Could not get %s's new key: %s.", user, errMessage(err)))
	default:
		a.releaseHeld(ctx, user)
		// Group keys made for user before they had a key go to them now, so
		// they can read what was posted meanwhile.
		sctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		if _, err := a.crypto.ShareOwedKeys(sctx, user); err != nil {
			a.say(fmt.Sprintf("Could not send %s your group keys: %s; they go with your next post.", user, errMessage(err)))
		}
	}
}

// render is the line that shows a text message: decrypted, or a warning in
// its place when it cannot be.
func (a *app) render(ctx context.Context, m *spartanv1.Message) string {
	opened, err := a.decrypt(ctx, m)
	return line(m, opened, err)
}

// decrypt opens a text message (what Crypto.Open returns).
func (a *app) decrypt(ctx context.Context, m *spartanv1.Message) (spartan.Opened, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return a.crypto.Open(ctx, m)
}

// line is the line that shows m, opened as opened or not (err).
func line(m *spartanv1.Message, opened spartan.Opened, err error) string {
	from := m.GetSender()
	if m.GetGroup() != "" {
		from += "@" + m.GetGroup()
	}
	switch {
	case errors.Is(err, e2e.ErrUnknownScheme):
		return fmt.Sprintf("[Spartan] WARNING: a message from %s uses an encryption scheme this client does not know; update Spartan to read it.", from)
	case errors.Is(err, e2e.ErrNotAuthentic), errors.Is(err, spartan.ErrNoKey):
		return fmt.Sprintf("[Spartan] WARNING: a message from %s could not be decrypted: it was altered, or sealed with another key.", from)
	case err != nil:
		return fmt.Sprintf("[Spartan] WARNING: a message from %s could not be decrypted: %s.", from, errMessage(err))
	}
	text := printable(opened.Text)
	if !utf8.ValidString(opened.Text) {
		text = fmt.Sprintf("(%d bytes that are not text)", len(opened.Text))
	}
	if opened.Plain {
		return fmt.Sprintf("[%s] (not encrypted) %s", from, text)
	}
	return fmt.Sprintf("[%s] %s", from, text)
}
