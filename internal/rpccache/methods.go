package rpccache

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// Cacheable returns the scope of every unary RPC of services that declares
// both idempotency_level NO_SIDE_EFFECTS and the (spartan.v1.cache) option,
// keyed by Connect procedure ("/spartan.v1.ChatService/History").
func Cacheable(services ...protoreflect.ServiceDescriptor) (map[string]spartanv1.CacheScope, error) {
	out := map[string]spartanv1.CacheScope{}
	for _, svc := range services {
		methods := svc.Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			opts, ok := m.Options().(*descriptorpb.MethodOptions)
			if !ok || opts == nil || !proto.HasExtension(opts, spartanv1.E_Cache) {
				continue
			}
			procedure := "/" + string(svc.FullName()) + "/" + string(m.Name())
			if opts.GetIdempotencyLevel() != descriptorpb.MethodOptions_NO_SIDE_EFFECTS {
				return nil, fmt.Errorf("%s has the cache option but not idempotency_level = NO_SIDE_EFFECTS: only side-effect free RPCs may be cached", procedure)
			}
			if m.IsStreamingClient() || m.IsStreamingServer() {
				return nil, fmt.Errorf("%s has the cache option but streams: only unary RPCs are cached", procedure)
			}
			co, _ := proto.GetExtension(opts, spartanv1.E_Cache).(*spartanv1.CacheOptions)
			out[procedure] = co.GetScope()
		}
	}
	return out, nil
}
