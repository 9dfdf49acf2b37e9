// Package caller decides who is calling an RPC, in one place that the rate
// limiter and the response cache share. Today the caller is the user the
// request names (its "user" field, or "receiver" in ReceiveMsg's Message);
// authentication will make it the proven user, here, without touching them.
package caller

import (
	"context"
	"net"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fields are the request fields that name the caller, in order of preference.
var fields = []protoreflect.Name{"user", "receiver"}

// Of returns the user a call acts for, given its request message, "" if
// it names none.
func Of(_ context.Context, request any) string {
	msg, ok := request.(proto.Message)
	if !ok {
		return ""
	}
	m := msg.ProtoReflect()
	for _, name := range fields {
		f := m.Descriptor().Fields().ByName(name)
		if f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
			return m.Get(f).String()
		}
	}
	return ""
}

// Address is the remote IP address of a call: the key for calls made
// before anyone is known (logging in).
func Address(peer connect.Peer) string {
	addr := peer.Addr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
