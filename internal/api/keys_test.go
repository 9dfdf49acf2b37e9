package api_test

import (
	"bytes"
	"testing"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// TestKeys: PublishKey and GetKey over every protocol, with their codes.
func TestKeys(t *testing.T) {
	t.Parallel()
	eachProtocol(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		key := bytes.Repeat([]byte{9}, 32)
		_, err := e.c.GetKey(ctx, connect.NewRequest(&spartanv1.GetKeyRequest{User: "alice", Peer: "bob"}))
		wantError(t, err, connect.CodeNotFound, "bob has not set up encryption yet")
		res, err := e.c.PublishKey(ctx, connect.NewRequest(&spartanv1.PublishKeyRequest{User: "bob", PublicKey: key}))
		if err != nil || !res.Msg.GetChanged() {
			t.Fatalf("PublishKey = %v, %v; want changed", res, err)
		}
		got, err := e.c.GetKey(ctx, connect.NewRequest(&spartanv1.GetKeyRequest{User: "alice", Peer: "bob"}))
		if err != nil || !bytes.Equal(got.Msg.GetPublicKey(), key) {
			t.Fatalf("GetKey = %v, %v", got, err)
		}
		_, err = e.c.PublishKey(ctx, connect.NewRequest(&spartanv1.PublishKeyRequest{User: "bob", PublicKey: []byte("short")}))
		wantError(t, err, connect.CodeInvalidArgument, "32")
		_, err = e.c.GetKey(ctx, connect.NewRequest(&spartanv1.GetKeyRequest{User: "alice", Peer: "zed"}))
		wantError(t, err, connect.CodeNotFound, "zed")
	})
}
