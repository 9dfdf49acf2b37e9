package spartan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"connectrpc.com/connect"

	"github.com/spartan-messenger/spartan/clients/go/e2e"
	"github.com/spartan-messenger/spartan/clients/go/keystore"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// ErrNoGroupKey says a group post was sealed with a sender key this client
// never received: sent before the user joined, or lost.
var ErrNoGroupKey = errors.New("the sender's key for this group has not reached this client")

// sharedKey is the plaintext of a GROUP_KEY event: a sender key for a group.
type sharedKey struct {
	Group string `json:"group"`
	ID    []byte `json:"id"`
	Key   []byte `json:"key"`
}

// PostText seals text with the user's sender key for group and posts it.
// When the group's members are not those the key was made for, it makes a
// new key first (so a member who left cannot read what follows, and one
// who joined cannot read what went before), and it sends the key to every
// member who does not have it yet. It returns the members who could not
// get the key (no identity key yet): they cannot read the post.
func (x *Crypto) PostText(ctx context.Context, group, text, id string) ([]string, error) {
	g, err := x.c.GetGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	members := slices.Sorted(slices.Values(g.GetMembers()))
	mine, ok, err := x.ks.MySenderKey(group)
	if err != nil {
		return nil, err
	}
	if !ok || !slices.Equal(mine.Members, members) {
		k, err := e2e.NewSenderKey()
		if err != nil {
			return nil, err
		}
		mine = keystore.MySenderKey{SenderKey: k, Members: members}
		if err := x.ks.AddSenderKey(group, x.c.User(), k); err != nil { // to read one's own posts
			return nil, err
		}
		if err := x.ks.SetMySenderKey(group, mine); err != nil {
			return nil, err
		}
	}
	var todo []string
	for _, m := range members {
		if m != x.c.User() && !slices.Contains(mine.Shared, m) {
			todo = append(todo, m)
		}
	}
	shared, unreadable, err := x.shareKey(ctx, group, todo, mine.SenderKey)
	if err != nil {
		return nil, err
	}
	if len(shared) > 0 {
		if err := x.ks.MarkShared(group, mine.ID, shared...); err != nil {
			return nil, err
		}
	}
	payload, err := e2e.SealGroup(mine.SenderKey, nil, []byte(text), e2e.AD{Sender: x.c.User(), Group: group, ClientMsgID: id})
	if err != nil {
		return nil, err
	}
	_, err = x.c.Send(ctx, &spartanv1.SendMsgRequest{Group: group, Payload: payload, Encryption: spartanv1.Encryption_ENCRYPTION_E2E, ClientMsgId: id})
	return unreadable, err
}

// ShareOwedKeys sends user, who has just published an identity key, the
// user's current sender key of every group whose key was made for a
// membership that includes them but never reached them (they had no key
// yet, or a new one since), if they are still a member: the posts sealed
// with it meanwhile open for them then. It returns the groups whose key
// went. The key was made for them, so nothing is shown that they were not
// meant to read; a change of members makes a new key anyway.
func (x *Crypto) ShareOwedKeys(ctx context.Context, user string) ([]string, error) {
	if user == x.c.User() {
		return nil, nil // the user's own posts open with the key they keep
	}
	owing, err := x.ks.Owing(user)
	if err != nil {
		return nil, err
	}
	var sent []string
	for _, group := range owing {
		g, err := x.c.GetGroup(ctx, group)
		if c := connect.CodeOf(err); c == connect.CodeNotFound || c == connect.CodePermissionDenied {
			continue // the group is gone, or the user left it
		}
		if err != nil {
			return sent, err
		}
		if !slices.Contains(g.GetMembers(), user) {
			continue // left since: the next post makes a new key without them
		}
		mine, ok, err := x.ks.MySenderKey(group)
		if err != nil {
			return sent, err
		}
		if !ok {
			continue
		}
		shared, _, err := x.shareKey(ctx, group, []string{user}, mine.SenderKey)
		if err != nil {
			return sent, err
		}
		if len(shared) == 0 {
			continue // no identity key after all
		}
		if err := x.ks.MarkShared(group, mine.ID, shared...); err != nil {
			return sent, err
		}
		sent = append(sent, group)
	}
	return sent, nil
}

// shareKey sends members the sender key k for group, each copy sealed for
// its receiver, in one call. It returns those who got it, and those who
// could not (no identity key yet).
func (x *Crypto) shareKey(ctx context.Context, group string, members []string, k e2e.SenderKey) (shared, unreadable []string, err error) {
	if len(members) == 0 {
		return nil, nil, nil
	}
	var unknown []string
	for _, m := range members {
		if _, ok := x.ks.Contact(m); !ok {
			unknown = append(unknown, m)
		}
	}
	if len(unknown) > 0 {
		keys, err := x.c.GetKeys(ctx, unknown)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range unknown {
			if key, ok := keys[m]; ok {
				if err := x.trust(m, key); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	plain, err := json.Marshal(sharedKey{Group: group, ID: k.ID, Key: k.Key})
	if err != nil {
		return nil, nil, fmt.Errorf("encode a sender key: %w", err)
	}
	var sealed []*spartanv1.SealedKey
	for _, m := range members {
		c, ok := x.ks.Contact(m)
		if !ok {
			unreadable = append(unreadable, m)
			continue
		}
		pair, err := x.pair(m, c.PublicKey)
		if err != nil {
			return nil, nil, err
		}
		id := NewMessageID()
		payload, err := e2e.Seal(pair, nil, plain, e2e.AD{Sender: x.c.User(), Receiver: m, Group: group, ClientMsgID: id})
		if err != nil {
			return nil, nil, err
		}
		sealed = append(sealed, &spartanv1.SealedKey{Receiver: m, Payload: payload, Encryption: spartanv1.Encryption_ENCRYPTION_E2E, ClientMsgId: id})
		shared = append(shared, m)
	}
	if len(sealed) == 0 {
		return nil, unreadable, nil
	}
	if err := x.c.ShareGroupKey(ctx, group, sealed); err != nil {
		return nil, nil, err
	}
	return shared, unreadable, nil
}

// AcceptGroupKey records the sender key a MESSAGE_TYPE_GROUP_KEY event
// brings. Errors as Open's.
func (x *Crypto) AcceptGroupKey(ctx context.Context, m *spartanv1.Message) error {
	if m.GetEncryption() != spartanv1.Encryption_ENCRYPTION_E2E {
		return e2e.ErrUnknownScheme
	}
	from := m.GetSender()
	if _, err := x.peerKey(ctx, from); err != nil {
		return err
	}
	ad := e2e.AD{Sender: from, Receiver: m.GetReceiver(), Group: m.GetGroup(), ClientMsgID: m.GetClientMsgId()}
	plain, err := x.open(from, m.GetPayload(), ad)
	if err != nil {
		return err
	}
	var k sharedKey
	if err := json.Unmarshal([]byte(plain), &k); err != nil || k.Group != m.GetGroup() || len(k.ID) != e2e.KeyIDSize || len(k.Key) != e2e.KeySize {
		return e2e.ErrNotAuthentic
	}
	return x.ks.AddSenderKey(k.Group, from, e2e.SenderKey{ID: k.ID, Key: k.Key})
}

// openGroup opens a post to a group.
func (x *Crypto) openGroup(m *spartanv1.Message) (Opened, error) {
	id, err := e2e.GroupKeyID(m.GetPayload())
	if err != nil {
		return Opened{}, err
	}
	key, ok, err := x.ks.SenderKey(m.GetGroup(), m.GetSender(), id)
	if err != nil {
		return Opened{}, err
	}
	if !ok {
		return Opened{}, ErrNoGroupKey
	}
	plain, err := e2e.OpenGroup(key, m.GetPayload(), e2e.AD{Sender: m.GetSender(), Group: m.GetGroup(), ClientMsgID: m.GetClientMsgId()})
	return Opened{Text: string(plain)}, err
}

// MaxPost is the longest text, in bytes, that fits a server's
// max_message_bytes once sealed as a group post.
func MaxPost(maxMessageBytes uint32) int { return max(int(maxMessageBytes)-e2e.GroupOverhead, 0) }
