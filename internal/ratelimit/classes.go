package ratelimit

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// Classes returns the rate class of every RPC of services that declares one
// with the (spartan.v1.rate) option, keyed by Connect procedure
// ("/spartan.v1.ChatService/SendMsg"). An RPC that writes (one not declared
// idempotency_level NO_SIDE_EFFECTS) must declare a class or an exemption
// with its reason: one that does neither is an error, so that no new
// writing RPC goes unlimited by oversight.
func Classes(services ...protoreflect.ServiceDescriptor) (map[string]string, error) {
	out := map[string]string{}
	for _, svc := range services {
		methods := svc.Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			procedure := "/" + string(svc.FullName()) + "/" + string(m.Name())
			opts, _ := m.Options().(*descriptorpb.MethodOptions)
			var ro *spartanv1.RateOptions
			if opts != nil && proto.HasExtension(opts, spartanv1.E_Rate) {
				ro, _ = proto.GetExtension(opts, spartanv1.E_Rate).(*spartanv1.RateOptions)
			}
			switch {
			case ro.GetClass() != "" && ro.GetExempt() != "":
				return nil, fmt.Errorf("%s has both a rate class and an exemption: choose one", procedure)
			case ro.GetClass() != "":
				out[procedure] = ro.GetClass()
			case ro.GetExempt() != "":
			case opts.GetIdempotencyLevel() != descriptorpb.MethodOptions_NO_SIDE_EFFECTS:
				return nil, fmt.Errorf("%s writes (it is not idempotency_level = NO_SIDE_EFFECTS) but has no (spartan.v1.rate) option: give it a class, or an exemption that says why", procedure)
			}
		}
	}
	return out, nil
}
