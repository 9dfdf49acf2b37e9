package chat_test

import (
	"testing"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// FuzzRequests: whatever names, ids and payloads a request carries, the
// core's calls do not panic, and every refusal is a core error with a code
// other than Internal: bad input is the caller's, told as such.
func FuzzRequests(f *testing.F) {
	f.Add("alice", "bob", "team", []byte("hi"), "id-1")
	f.Add("", "", "", []byte(nil), "")
	f.Add("alice", "alice", "alice", []byte{0xff}, "bad id!")
	f.Add("zed\x00", "bob\xff", "a b", make([]byte, maxPayload+1), "x")
	f.Fuzz(func(t *testing.T, user, peer, group string, payload []byte, clientID string) {
		svc, _ := newService(t, chat.Options{Groups: map[string][]string{"staff": {"alice", "bob"}}})
		ctx := t.Context()
		check := func(what string, err error) {
			if err != nil && chat.ErrorCode(err) == chat.CodeInternal {
				t.Fatalf("%s(%q, %q, %q, %x, %q): an internal error: %v", what, user, peer, group, payload, clientID, err)
			}
		}
		_, _, err := svc.Send(ctx, user, peer, payload, 2, clientID)
		check("Send", err)
		_, err = svc.RequestChat(ctx, user, peer)
		check("RequestChat", err)
		_, _, err = svc.AnswerChat(ctx, user, peer, true)
		check("AnswerChat", err)
		_, err = svc.CreateGroup(ctx, user, group, []string{peer})
		check("CreateGroup", err)
		_, err = svc.AddMember(ctx, user, group, peer)
		check("AddMember", err)
		_, err = svc.Post(ctx, user, group, payload, 2, clientID)
		check("Post", err)
		err = svc.ShareGroupKey(ctx, user, group, []chat.SealedKey{{Receiver: peer, Payload: payload, ClientID: clientID}})
		check("ShareGroupKey", err)
		_, _, err = svc.History(ctx, user, peer, 0, len(payload))
		check("History", err)
		_, _, err = svc.GroupHistory(ctx, user, group, 0, len(clientID))
		check("GroupHistory", err)
		_, err = svc.PublishKey(ctx, user, payload)
		check("PublishKey", err)
		_, err = svc.GetKeys(ctx, user, []string{peer, group})
		check("GetKeys", err)
		err = svc.LeaveGroup(ctx, user, group)
		check("LeaveGroup", err)
		err = svc.BindAuthKey(ctx, user, payload)
		check("BindAuthKey", err)
	})
}
