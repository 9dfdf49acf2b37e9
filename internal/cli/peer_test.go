package cli_test

import (
	"context"
	"fmt"
	"testing"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/clients/go/keystore"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// peer is a user on the client library, with keys of its own published at
// once: what it says is sealed, what it reads is opened, as by a CLI.
type peer struct {
	*spartan.Client
	crypto *spartan.Crypto
	keys   *keystore.Store
}

// newPeer makes user's keys in a directory of the test and publishes them
// on the server at addr.
func newPeer(tb testing.TB, addr, user string) *peer {
	tb.Helper()
	return newPeerIn(tb, addr, user, tb.TempDir())
}

// newPeerIn is newPeer with the keys of dir.
func newPeerIn(tb testing.TB, addr, user, dir string) *peer {
	tb.Helper()
	ks, _, err := keystore.Open(dir, user)
	if err != nil {
		tb.Fatal(err)
	}
	c := spartan.New(addr, user)
	p := &peer{Client: c, crypto: spartan.NewCrypto(c, ks, nil), keys: ks}
	if err := p.crypto.Publish(tb.Context()); err != nil {
		tb.Fatalf("publish %s's key: %v", user, err)
	}
	return p
}

// say sends text to user, sealed.
func (p *peer) say(tb testing.TB, to, text string) {
	tb.Helper()
	if _, err := p.crypto.SendText(tb.Context(), to, text, spartan.NewMessageID()); err != nil {
		tb.Fatalf("%s says %q to %s: %v", p.User(), text, to, err)
	}
}

// texts follows the peer's inbox and sends each text message on the
// returned channel as "[sender] text" (a group's too), or "[sender] !"
// and why it could not be opened; it takes in the sender keys that come.
func (p *peer) texts(tb testing.TB) <-chan string {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub := p.Subscribe(ctx, spartan.SubscribeOptions{})
	out := make(chan string, 100)
	go func() {
		for u := range sub.C {
			m := u.Message
			if m != nil && m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_GROUP_KEY {
				if err := p.crypto.AcceptGroupKey(ctx, m); err != nil {
					out <- fmt.Sprintf("[%s] !key: %v", m.GetSender(), err)
				}
				continue
			}
			if m == nil || m.GetType() != spartanv1.MessageType_MESSAGE_TYPE_TEXT {
				continue
			}
			opened, err := p.crypto.Open(ctx, m)
			switch {
			case err != nil:
				out <- fmt.Sprintf("[%s] !%v", m.GetSender(), err)
			case opened.Plain:
				out <- fmt.Sprintf("[%s] (not encrypted) %s", m.GetSender(), opened.Text)
			default:
				out <- fmt.Sprintf("[%s] %s", m.GetSender(), opened.Text)
			}
		}
	}()
	tb.Cleanup(func() {
		cancel()
		_ = sub.Err()
	})
	return out
}

// post posts text to group, sealed with the peer's sender key.
func (p *peer) post(tb testing.TB, group, text string) {
	tb.Helper()
	if _, err := p.crypto.PostText(tb.Context(), group, text, spartan.NewMessageID()); err != nil {
		tb.Fatalf("%s posts %q to %s: %v", p.User(), text, group, err)
	}
}
