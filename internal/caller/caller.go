// Package caller decides who is calling an RPC, in one place that the
// authentication, the rate limiter and the response cache share: the user
// proven by authentication (WithUser), else the user the request names (its
// "user" field, or "receiver" in ReceiveMsg's Message) when authentication
// is not required.
package caller

import (
	"context"
	"errors"
	"net"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fields are the request fields that name the caller, in order of preference.
var fields = []protoreflect.Name{"user", "receiver"}

// userKey is the context key of the proven user.
type userKey struct{}

// WithUser returns ctx proving that user calls.
func WithUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

// FromContext returns the proven user, "" if none.
func FromContext(ctx context.Context) string {
	user, _ := ctx.Value(userKey{}).(string)
	return user
}

// Of returns the user a call acts for: the proven one, or the one its
// request message names; "" if neither.
func Of(ctx context.Context, request any) string {
	if user := FromContext(ctx); user != "" {
		return user
	}
	m, f := identity(request)
	if f == nil {
		return ""
	}
	return m.Get(f).String()
}

// identity returns the request's field that names the caller, if any.
func identity(request any) (protoreflect.Message, protoreflect.FieldDescriptor) {
	msg, ok := request.(proto.Message)
	if !ok {
		return nil, nil
	}
	m := msg.ProtoReflect()
	for _, name := range fields {
		f := m.Descriptor().Fields().ByName(name)
		if f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
			return m, f
		}
	}
	return nil, nil
}

// Bind makes the request's identity field user: an empty one is filled
// in; one that names another user is an error, and the name is returned.
func Bind(request any, user string) (string, error) {
	m, f := identity(request)
	if f == nil {
		return "", nil
	}
	switch named := m.Get(f).String(); named {
	case user:
		return "", nil
	case "":
		m.Set(f, protoreflect.ValueOfString(user))
		return "", nil
	default:
		return named, errors.New("the request names another user")
	}
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
