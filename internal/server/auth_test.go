package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/redistest"
	"github.com/spartan-messenger/spartan/internal/server"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// authServer starts a server that requires logging in.
func authServer(tb testing.TB, mutate ...func(*config.Config)) *servertest.Server {
	tb.Helper()
	cfg := servertest.Config()
	cfg.Auth.Required = true
	for _, m := range mutate {
		m(&cfg)
	}
	return servertest.Start(tb, cfg)
}

func rawClient(tb testing.TB, addr string) spartanv1connect.ChatServiceClient {
	tb.Helper()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	tb.Cleanup(tr.CloseIdleConnections)
	return spartanv1connect.NewChatServiceClient(&http.Client{Transport: tr}, "http://"+addr, connect.WithGRPC())
}

func newSigner(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// logIn signs a challenge as user with key and returns the session token.
func logIn(tb testing.TB, c spartanv1connect.ChatServiceClient, user string, key ed25519.PrivateKey) (string, error) {
	tb.Helper()
	ch, err := c.Challenge(tb.Context(), connect.NewRequest(&spartanv1.ChallengeRequest{User: user}))
	if err != nil {
		return "", err
	}
	res, err := c.Authenticate(tb.Context(), connect.NewRequest(&spartanv1.AuthenticateRequest{
		User: user, Challenge: ch.Msg.GetChallenge(), PublicKey: key.Public().(ed25519.PublicKey),
		Signature: ed25519.Sign(key, spartan.SignedChallenge(user, ch.Msg.GetChallenge())),
	}))
	if err != nil {
		return "", err
	}
	return res.Msg.GetToken(), nil
}

// as is a request carrying token.
func as[T any](token string, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	return req
}

// everyCall calls each RPC that needs a session, with token, in the name of
// user; it returns each call's error by procedure name.
func everyCall(ctx context.Context, c spartanv1connect.ChatServiceClient, token, user string) map[string]error {
	errs := map[string]error{}
	do := func(name string, err error) { errs[name] = err }
	_, err := c.Login(ctx, as(token, &spartanv1.LoginRequest{User: user}))
	do("Login", err)
	_, err = c.RequestChat(ctx, as(token, &spartanv1.RequestChatRequest{User: user, Peer: "charlie"}))
	do("RequestChat", err)
	_, err = c.AnswerChat(ctx, as(token, &spartanv1.AnswerChatRequest{User: user, Peer: "charlie", Accept: true}))
	do("AnswerChat", err)
	_, err = c.SendMsg(ctx, as(token, &spartanv1.SendMsgRequest{User: user, Receiver: "charlie", Payload: []byte("I am not really " + user)}))
	do("SendMsg", err)
	stream, err := c.ReceiveMsg(ctx, as(token, &spartanv1.Message{Receiver: user}))
	if err == nil {
		stream.Receive()
		err = stream.Err()
		_ = stream.Close()
	}
	do("ReceiveMsg", err)
	sends := c.SendMsgStream(ctx)
	if token != "" {
		sends.RequestHeader().Set("Authorization", "Bearer "+token)
	}
	_ = sends.Send(&spartanv1.SendMsgRequest{User: user, Receiver: "charlie", Payload: []byte("I am not really " + user)})
	_ = sends.CloseRequest()
	_, err = sends.Receive()
	_ = sends.CloseResponse()
	do("SendMsgStream", err)
	_, err = c.Ack(ctx, as(token, &spartanv1.AckRequest{User: user, Seq: 1}))
	do("Ack", err)
	_, err = c.History(ctx, as(token, &spartanv1.HistoryRequest{User: user, Peer: "charlie"}))
	do("History", err)
	_, err = c.PublishKey(ctx, as(token, &spartanv1.PublishKeyRequest{User: user, PublicKey: make([]byte, 32)}))
	do("PublishKey", err)
	_, err = c.GetKey(ctx, as(token, &spartanv1.GetKeyRequest{User: user, Peer: "charlie"}))
	do("GetKey", err)
	_, err = c.GetKeys(ctx, as(token, &spartanv1.GetKeysRequest{User: user, Peers: []string{"charlie"}}))
	do("GetKeys", err)
	_, err = c.CreateGroup(ctx, as(token, &spartanv1.CreateGroupRequest{User: user, Group: "g-" + user}))
	do("CreateGroup", err)
	_, err = c.AddMember(ctx, as(token, &spartanv1.AddMemberRequest{User: user, Group: "bobs", Member: "alice"}))
	do("AddMember", err)
	_, err = c.LeaveGroup(ctx, as(token, &spartanv1.LeaveGroupRequest{User: user, Group: "bobs"}))
	do("LeaveGroup", err)
	_, err = c.ListGroups(ctx, as(token, &spartanv1.ListGroupsRequest{User: user}))
	do("ListGroups", err)
	_, err = c.GetGroup(ctx, as(token, &spartanv1.GetGroupRequest{User: user, Group: "bobs"}))
	do("GetGroup", err)
	_, err = c.ShareGroupKey(ctx, as(token, &spartanv1.ShareGroupKeyRequest{User: user, Group: "bobs", Keys: []*spartanv1.SealedKey{{Receiver: "charlie", Payload: []byte("k")}}}))
	do("ShareGroupKey", err)
	return errs
}

// TestEveryCallNeedsASession: without a token, or with a bad one, every RPC
// but the log-in steps and ListUsers is Unauthenticated; the table covers
// every RPC of the service.
func TestEveryCallNeedsASession(t *testing.T) {
	t.Parallel()
	srv := authServer(t)
	c := rawClient(t, srv.Addr)
	for _, token := range []string{"", "v1.forged", "not even a token"} {
		errs := everyCall(t.Context(), c, token, "bob")
		for name, err := range errs {
			if connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("%s with token %q: %v, want Unauthenticated", name, token, err)
			}
		}
		methods := spartanv1.File_spartan_v1_chat_proto.Services().ByName("ChatService").Methods()
		for i := range methods.Len() {
			name := string(methods.Get(i).Name())
			if _, ok := errs[name]; !ok && !slices.Contains([]string{"Challenge", "Authenticate", "ListUsers"}, name) {
				t.Errorf("%s is not tried", name)
			}
		}
	}
	if _, err := c.ListUsers(t.Context(), connect.NewRequest(&spartanv1.ListUsersRequest{})); err != nil {
		t.Errorf("ListUsers without a session: %v", err)
	}
}

// TestNobodySpeaksAsSomeoneElse: with alice's session, every request that
// names bob is PermissionDenied, and nothing of bob's changes: alice cannot
// read bob's inbox or history, post or ack as bob, join or leave bob's
// groups, or replace bob's keys; her own calls work.
func TestNobodySpeaksAsSomeoneElse(t *testing.T) {
	t.Parallel()
	srv := authServer(t)
	c := rawClient(t, srv.Addr)
	aliceKey, bobKey := newSigner(t), newSigner(t)
	alice, err := logIn(t, c, "alice", aliceKey)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := logIn(t, c, "bob", bobKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(t.Context(), as(bob, &spartanv1.CreateGroupRequest{Group: "bobs", Members: []string{"charlie"}})); err != nil {
		t.Fatal(err)
	}
	for name, err := range everyCall(t.Context(), c, alice, "bob") {
		if connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "you are alice: a request cannot name bob") {
			t.Errorf("%s as bob with alice's session: %v, want PermissionDenied", name, err)
		}
	}
	// An empty name is the caller: alice's own calls work, and bob's group
	// stays closed to her.
	if _, err := c.Login(t.Context(), as(alice, &spartanv1.LoginRequest{})); err != nil {
		t.Errorf("alice's own Login: %v", err)
	}
	_, err = c.AddMember(t.Context(), as(alice, &spartanv1.AddMemberRequest{Group: "bobs", Member: "alice"}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("alice joins bob's group: %v, want PermissionDenied", err)
	}
	// Logging in as bob with alice's key: bob's key is taken already.
	if _, err := logIn(t, c, "bob", aliceKey); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("log in as bob with another key: %v, want PermissionDenied", err)
	}
	g, err := c.GetGroup(t.Context(), as(bob, &spartanv1.GetGroupRequest{Group: "bobs"}))
	if err != nil || !slices.Equal(g.Msg.GetGroup().GetMembers(), []string{"bob", "charlie"}) {
		t.Errorf("bob's group after the attempts: %v, %v", g, err)
	}
	if _, err := c.GetKey(t.Context(), as(alice, &spartanv1.GetKeyRequest{Peer: "bob"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("bob's key after alice tried to publish one: %v, want NotFound", err)
	}
}

// TestLogInRules: a wrong signature, a challenge of another user or none,
// an unknown user; a token good on every node of a cluster; a pinned key.
func TestLogInRules(t *testing.T) {
	t.Parallel()
	redis := redistest.Start(t)
	pinned := newSigner(t)
	var nodes []*servertest.Server
	for range 2 {
		nodes = append(nodes, authServer(t, func(cfg *config.Config) {
			cfg.Store = config.Store{Kind: config.StoreRedis}
			cfg.Redis.URL = redis.URL
			cfg.Auth.Keys = map[string]string{"eve": b64(pinned.Public().(ed25519.PublicKey))}
		}))
	}
	a, b := rawClient(t, nodes[0].Addr), rawClient(t, nodes[1].Addr)
	key := newSigner(t)
	token, err := logIn(t, a, "alice", key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Login(t.Context(), as(token, &spartanv1.LoginRequest{})); err != nil {
		t.Errorf("node 1's token on node 2: %v", err)
	}
	ch, err := a.Challenge(t.Context(), connect.NewRequest(&spartanv1.ChallengeRequest{User: "alice"}))
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		req  *spartanv1.AuthenticateRequest
		code connect.Code
	}{
		{"a wrong signature", &spartanv1.AuthenticateRequest{User: "alice", Challenge: ch.Msg.GetChallenge(), PublicKey: key.Public().(ed25519.PublicKey), Signature: make([]byte, 64)}, connect.CodeUnauthenticated},
		{"alice's challenge for bob", &spartanv1.AuthenticateRequest{User: "bob", Challenge: ch.Msg.GetChallenge(), PublicKey: key.Public().(ed25519.PublicKey), Signature: ed25519.Sign(key, spartan.SignedChallenge("bob", ch.Msg.GetChallenge()))}, connect.CodeUnauthenticated},
		{"no challenge", &spartanv1.AuthenticateRequest{User: "alice"}, connect.CodeUnauthenticated},
		{"an unknown user", &spartanv1.AuthenticateRequest{User: "zed"}, connect.CodeNotFound},
	}
	for _, tt := range bad {
		if _, err := b.Authenticate(t.Context(), connect.NewRequest(tt.req)); connect.CodeOf(err) != tt.code {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.code)
		}
	}
	if _, err := logIn(t, b, "eve", newSigner(t)); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("eve with a key other than the pinned one: %v, want PermissionDenied", err)
	}
	if _, err := logIn(t, b, "eve", pinned); err != nil {
		t.Errorf("eve with her pinned key: %v", err)
	}
}

// TestClientLogsInUnnoticed: the Go client with a signer logs in by itself
// and chats on a server that requires it.
func TestClientLogsInUnnoticed(t *testing.T) {
	t.Parallel()
	srv := authServer(t)
	alice := spartan.New(srv.Addr, "alice", spartan.WithSigner(newSigner(t)))
	bob := spartan.New(srv.Addr, "bob", spartan.WithSigner(newSigner(t)))
	if _, err := alice.RequestChat(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AnswerChat(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendText(t.Context(), "bob", "hi", spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	sub := bob.Subscribe(t.Context(), spartan.SubscribeOptions{})
	for u := range sub.C {
		if m := u.Message; m != nil && m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			if string(m.GetPayload()) != "hi" || m.GetSender() != "alice" {
				t.Fatalf("bob got %v", m)
			}
			return
		}
	}
	t.Fatalf("bob's stream ended: %v", sub.Err())
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestOperatorResetsAKey: after spartan-server -reset-key alice, alice logs
// in with a new key; before it, the new key is refused.
func TestOperatorResetsAKey(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "spartan.db")
	bolt := func(cfg *config.Config) { cfg.Store = config.Store{Kind: config.StoreBolt, Path: db} }
	srv := authServer(t, bolt)
	if _, err := logIn(t, rawClient(t, srv.Addr), "alice", newSigner(t)); err != nil {
		t.Fatal(err)
	}
	lost := newSigner(t)
	if _, err := logIn(t, rawClient(t, srv.Addr), "alice", lost); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("another key before the reset: %v, want PermissionDenied", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	env := []string{"SPARTAN_STORE__KIND=bolt", "SPARTAN_STORE__PATH=" + db}
	if err := server.Run(t.Context(), []string{"-config", "", "-reset-key", "alice"}, env, &out, &errOut); err != nil {
		t.Fatalf("reset: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "The log-in key of alice is forgotten") {
		t.Errorf("reset said %q", out.String())
	}
	srv = authServer(t, bolt)
	if _, err := logIn(t, rawClient(t, srv.Addr), "alice", lost); err != nil {
		t.Errorf("the new key after the reset: %v", err)
	}
}

// TestOversizedHeadersAreRefused: metadata past the server's header bound
// (64 KiB) is refused before any handler runs, and the server serves the
// next call.
func TestOversizedHeadersAreRefused(t *testing.T) {
	t.Parallel()
	srv := authServer(t)
	c := rawClient(t, srv.Addr)
	req := connect.NewRequest(&spartanv1.ListUsersRequest{})
	req.Header().Set("X-Padding", strings.Repeat("x", 128<<10))
	_, err := c.ListUsers(t.Context(), req)
	if err == nil {
		t.Fatal("a 128 KiB header was taken")
	}
	t.Logf("a 128 KiB header: %v (code %v)", err, connect.CodeOf(err))
	if _, err := rawClient(t, srv.Addr).ListUsers(t.Context(), connect.NewRequest(&spartanv1.ListUsersRequest{})); err != nil {
		t.Fatalf("the next call: %v", err)
	}
}

// shortTokens makes session tokens good for three seconds.
func shortTokens(cfg *config.Config) { cfg.Auth.TokenMinutes = 0.05 }

// TestStreamEndsWhenItsTokenExpires: a stream opened with a session token
// ends with Unauthenticated when the token expires, so that a stolen token
// does not read (or send) for ever through a stream opened while it was good.
func TestStreamEndsWhenItsTokenExpires(t *testing.T) {
	t.Parallel()
	srv := authServer(t, shortTokens)
	c := rawClient(t, srv.Addr)
	signer := newSigner(t)
	ctx := testCtx(t)
	// Not in parallel: a subtest could wait for a free slot longer than a
	// token lives. Each logs in afresh.
	t.Run("ReceiveMsg", func(t *testing.T) {
		token, err := logIn(t, c, "alice", signer)
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.ReceiveMsg(ctx, as(token, &spartanv1.Message{}))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = st.Close() }()
		for st.Receive() {
		}
		if connect.CodeOf(st.Err()) != connect.CodeUnauthenticated || !strings.Contains(st.Err().Error(), "expired") {
			t.Errorf("the stream ended with %v; want Unauthenticated, the token expired", st.Err())
		}
	})
	t.Run("SendMsgStream", func(t *testing.T) {
		token, err := logIn(t, c, "alice", signer)
		if err != nil {
			t.Fatal(err)
		}
		st := c.SendMsgStream(ctx)
		setTokenHeader(st.RequestHeader(), token)
		if err := st.Send(nil); err != nil { // the headers alone
			t.Fatal(err)
		}
		for err == nil {
			_, err = st.Receive()
		}
		if connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(err.Error(), "expired") {
			t.Errorf("the stream ended with %v; want Unauthenticated, the token expired", err)
		}
		_ = st.CloseRequest()
		_ = st.CloseResponse()
	})
}

func setTokenHeader(h http.Header, token string) { h.Set("Authorization", "Bearer "+token) }

// streamOpens counts the ReceiveMsg calls of a client and signals each.
type streamOpens struct {
	next   http.RoundTripper
	opened chan struct{}
}

func (s *streamOpens) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/ReceiveMsg") {
		s.opened <- struct{}{}
	}
	return s.next.RoundTrip(req)
}

// TestClientStreamOutlivesItsToken: the Go client reopens a stream the
// server cut because its token expired, at once and quietly (no
// Disconnected), and misses nothing; its peer is not told it went offline.
func TestClientStreamOutlivesItsToken(t *testing.T) {
	t.Parallel()
	srv := authServer(t, shortTokens)
	ctx := testCtx(t)
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	base := &http.Transport{Protocols: &protos}
	t.Cleanup(base.CloseIdleConnections)
	opens := &streamOpens{next: base, opened: make(chan struct{}, 16)}
	alice := spartan.New(srv.Addr, "alice", spartan.WithSigner(newSigner(t)), spartan.WithHTTPClient(&http.Client{Transport: opens}))
	bob := spartan.New(srv.Addr, "bob", spartan.WithSigner(newSigner(t)))
	if _, err := bob.RequestChat(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AnswerChat(ctx, "bob", true); err != nil {
		t.Fatal(err)
	}
	bobSub := bob.Subscribe(ctx, spartan.SubscribeOptions{})
	aliceSub := alice.Subscribe(ctx, spartan.SubscribeOptions{})
	// Alice's updates, read all along (a subscription waits for its reader).
	aliceGot := make(chan spartan.Update, 64)
	go func() {
		defer close(aliceGot)
		for u := range aliceSub.C {
			if u.Message.GetType() != spartanv1.MessageType_MESSAGE_TYPE_PRESENCE {
				aliceGot <- u
			}
		}
	}()
	// Bob's updates, read all along: alice must never be said to be offline
	// once she is online.
	aliceOffline := make(chan *spartanv1.Message, 16)
	go func() {
		seenOnline := false
		for u := range bobSub.C {
			if m := u.Message; m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_PRESENCE && m.GetSender() == "alice" {
				if m.GetOnline() {
					seenOnline = true
				} else if seenOnline {
					aliceOffline <- m
				}
			}
		}
	}()
	// The first stream, then two more after two expiries.
	for i := range 3 {
		select {
		case <-opens.opened:
		case <-ctx.Done():
			t.Fatalf("alice's stream was opened %d times: %v", i, ctx.Err())
		}
	}
	if _, err := bob.SendText(ctx, "alice", "still there?", spartan.NewMessageID()); err != nil {
		t.Fatal(err)
	}
	got := false
	for u := range aliceGot {
		if u.Disconnected != nil || u.Reconnected {
			t.Fatalf("alice's subscription reported %+v across a token's expiry", u)
		}
		if m := u.Message; m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			if string(m.GetPayload()) != "still there?" {
				t.Fatalf("alice got %q", m.GetPayload())
			}
			got = true
			break
		}
	}
	if !got {
		t.Fatalf("alice's subscription ended before bob's message came: %v", aliceSub.Err())
	}
	select {
	case m := <-aliceOffline:
		t.Errorf("bob was told alice went offline while her stream was reopened: %v", m)
	default:
	}
}
