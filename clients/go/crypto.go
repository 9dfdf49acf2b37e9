package spartan

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/spartan-messenger/spartan/clients/go/e2e"
	"github.com/spartan-messenger/spartan/clients/go/keystore"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// ErrNoKey says the user has not published an identity key yet (never logged
// in with an encrypting client), so nothing can be sealed for them.
var ErrNoKey = errors.New("has not set up encryption yet")

// KeyChange is a contact's key replacing another that was trusted.
type KeyChange struct {
	User     string
	Old, New []byte
}

// Opened is a received text, made readable.
type Opened struct {
	// Text is the message's text.
	Text string
	// Plain says it came unencrypted: the server, or anyone on the way
	// before TLS, could have read or written it.
	Plain bool
}

// Crypto is the end-to-end encryption of one Client (docs/SECURITY.md): it
// publishes the user's identity key, seals what the user sends with the
// key of the pair, and opens what arrives. Contacts' keys are trusted on
// first use and kept in the keystore; a key that replaces a trusted one is
// reported to onChange (called on the goroutine of the call that found
// it), and trusted from then on. It is safe for concurrent use.
type Crypto struct {
	c        *Client
	ks       *keystore.Store
	onChange func(KeyChange)

	mu    sync.Mutex
	pairs map[string][]byte // pair keys by peer and the peer's key
}

// NewCrypto returns the encryption of c's user, with the keys of ks.
func NewCrypto(c *Client, ks *keystore.Store, onChange func(KeyChange)) *Crypto {
	return &Crypto{c: c, ks: ks, onChange: onChange, pairs: map[string][]byte{}}
}

// Fingerprint is the user's own key's fingerprint.
func (x *Crypto) Fingerprint() string { return e2e.Fingerprint(x.ks.Key().PublicKey()) }

// Publish publishes the user's public key; doing it again is harmless.
func (x *Crypto) Publish(ctx context.Context) error {
	_, err := x.c.PublishKey(ctx, x.ks.Key().PublicKey().Bytes())
	return err
}

// Refresh asks the server for user's key and records it: trusted if it is
// the first, reported to onChange if it replaces another. It returns the
// key; an error wrapping ErrNoKey when user has none.
func (x *Crypto) Refresh(ctx context.Context, user string) ([]byte, error) {
	key, err := x.c.GetKey(ctx, user)
	if connect.CodeOf(err) == connect.CodeNotFound {
		return nil, fmt.Errorf("%s %w", user, ErrNoKey)
	}
	if err != nil {
		return nil, err
	}
	return key, x.trust(user, key)
}

// trust records key as user's: trusted if it is the first, reported to
// onChange if it replaces another.
func (x *Crypto) trust(user string, key []byte) error {
	if _, err := ecdh.X25519().NewPublicKey(key); err != nil {
		return fmt.Errorf("the server's key for %s: %w", user, err)
	}
	old, err := x.ks.Trust(user, key, time.Now())
	if err != nil {
		return err
	}
	if old != nil {
		if err := x.ks.Unshare(user); err != nil { // sender keys go again, sealed for the new key
			return err
		}
		if x.onChange != nil {
			x.onChange(KeyChange{User: user, Old: old, New: key})
		}
	}
	return nil
}

// peerKey is user's trusted key, fetched on first use.
func (x *Crypto) peerKey(ctx context.Context, user string) ([]byte, error) {
	if c, ok := x.ks.Contact(user); ok {
		return c.PublicKey, nil
	}
	return x.Refresh(ctx, user)
}

// pair is the key the user shares with peer, whose public key is pub.
func (x *Crypto) pair(peer string, pub []byte) ([]byte, error) {
	id := peer + "\x00" + string(pub)
	x.mu.Lock()
	defer x.mu.Unlock()
	if k, ok := x.pairs[id]; ok {
		return k, nil
	}
	theirs, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("the key of %s: %w", peer, err)
	}
	k, err := e2e.PairKey(x.ks.Key(), theirs, x.c.User(), peer)
	if err != nil {
		return nil, err
	}
	x.pairs[id] = k
	return k, nil
}

// MaxText is the longest text, in bytes, that fits a server's
// max_message_bytes once sealed.
func MaxText(maxMessageBytes uint32) int { return max(int(maxMessageBytes)-e2e.Overhead, 0) }

// SendText seals text for to and sends it, with id as its client_msg_id (a
// NewMessageID, the same on every retry). An error wrapping ErrNoKey means
// to has no key yet: nothing was sent.
func (x *Crypto) SendText(ctx context.Context, to, text, id string) (*spartanv1.SendMsgResponse, error) {
	pub, err := x.peerKey(ctx, to)
	if err != nil {
		return nil, err
	}
	key, err := x.pair(to, pub)
	if err != nil {
		return nil, err
	}
	payload, err := e2e.Seal(key, nil, []byte(text), e2e.AD{Sender: x.c.User(), Receiver: to, ClientMsgID: id})
	if err != nil {
		return nil, err
	}
	return x.c.Send(ctx, &spartanv1.SendMsgRequest{
		Receiver:    to,
		Payload:     payload,
		Encryption:  spartanv1.Encryption_ENCRYPTION_E2E,
		ClientMsgId: id,
	})
}

// Open makes a text message (received, or from History; to the user, or
// to a group) readable. Errors: e2e.ErrUnknownScheme for an encryption it
// does not know, e2e.ErrNotAuthentic for a payload that does not open with
// any key of the other user, ErrNoKey when the other user has none,
// ErrNoGroupKey for a group post whose sender key never came.
func (x *Crypto) Open(ctx context.Context, m *spartanv1.Message) (Opened, error) {
	switch m.GetEncryption() {
	case spartanv1.Encryption_ENCRYPTION_PLAINTEXT, spartanv1.Encryption_ENCRYPTION_UNSPECIFIED:
		return Opened{Text: string(m.GetPayload()), Plain: true}, nil
	case spartanv1.Encryption_ENCRYPTION_E2E:
	default:
		return Opened{}, e2e.ErrUnknownScheme
	}
	if m.GetGroup() != "" {
		return x.openGroup(m)
	}
	peer := m.GetSender()
	if peer == x.c.User() {
		peer = m.GetReceiver()
	}
	ad := e2e.AD{Sender: m.GetSender(), Receiver: m.GetReceiver(), Group: m.GetGroup(), ClientMsgID: m.GetClientMsgId()}
	if _, err := x.peerKey(ctx, peer); err != nil {
		return Opened{}, err
	}
	text, err := x.open(peer, m.GetPayload(), ad)
	if !errors.Is(err, e2e.ErrNotAuthentic) {
		return Opened{Text: text}, err
	}
	// Sealed with a key of peer's that this client has not seen yet?
	before, _ := x.ks.Contact(peer)
	if now, rerr := x.Refresh(ctx, peer); rerr == nil && !bytes.Equal(now, before.PublicKey) {
		text, err = x.open(peer, m.GetPayload(), ad)
	}
	return Opened{Text: text}, err
}

// open tries peer's trusted key, then the ones it replaced.
func (x *Crypto) open(peer string, payload []byte, ad e2e.AD) (string, error) {
	c, _ := x.ks.Contact(peer)
	err := e2e.ErrNotAuthentic
	for _, pub := range append([][]byte{c.PublicKey}, c.PreviousKeys...) {
		key, kerr := x.pair(peer, pub)
		if kerr != nil {
			continue
		}
		var plain []byte
		if plain, err = e2e.Open(key, payload, ad); err == nil {
			return string(plain), nil
		}
		if errors.Is(err, e2e.ErrUnknownScheme) {
			return "", err
		}
	}
	return "", err
}
