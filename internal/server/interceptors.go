package server

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/spartan-messenger/spartan/internal/auth"
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/ratelimit"
	"github.com/spartan-messenger/spartan/internal/rpccache"
)

// chain is the order of the interceptors, the brief's decorators, from the
// outside in: metrics → authentication → rate limit → response cache. The
// rate limit counts a call before the cache may answer it, so a cached
// answer is no way around the limit; authentication gives both the proven
// caller; metrics, outside, count every refusal, whoever made it.
func chain(counted connect.Interceptor, authn *auth.Interceptor, rate *ratelimit.Interceptor, cache *rpccache.Interceptor) []connect.Interceptor {
	out := []connect.Interceptor{counted, authn, rate}
	if cache != nil {
		out = append(out, cache)
	}
	return out
}

// authority makes the issuer of challenges and session tokens, over the
// secret of the configuration, or else the one the store keeps (made by
// the first server of a cluster).
func (s *Server) authority(core *chat.Service) (*auth.Authority, error) {
	secret, err := s.cfg.Auth.SecretBytes()
	if err != nil {
		return nil, err
	}
	if secret == nil {
		fresh, err := auth.NewSecret()
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if secret, err = core.Secret(ctx, fresh); err != nil {
			return nil, err
		}
	}
	return auth.New(secret, auth.Options{TokenTTL: time.Duration(s.cfg.Auth.TokenMinutes * float64(time.Minute))})
}

// maxRateKeys bounds the in-process limiter's memory: one small entry per
// (class, caller), least recently used first out.
const maxRateKeys = 100_000

// rateLimit makes the @rate interceptor for services: the limits of every
// class from the configuration, on Redis when redis.url is set (one limit
// across all servers sharing it; openEngines has connected), in the process
// otherwise.
func (s *Server) rateLimit(services []protoreflect.ServiceDescriptor) (*ratelimit.Interceptor, error) {
	limits := map[string]ratelimit.Limit{}
	for name, c := range s.cfg.Rate.AllClasses() {
		limits[name] = ratelimit.Limit{Rate: c.Calls, Period: time.Duration(c.WindowSeconds) * time.Second, Burst: c.Burst}
	}
	var limiter ratelimit.Limiter
	if s.redis == nil {
		mem, err := ratelimit.NewMemory(maxRateKeys, nil)
		if err != nil {
			return nil, err
		}
		limiter = mem
	} else {
		onError := ratelimit.Allow
		if s.cfg.Rate.OnRedisError == "deny" {
			onError = ratelimit.Deny
		}
		limiter = ratelimit.NewRedis(s.redis, onError, s.log)
	}
	rate, err := ratelimit.New(services, limits, limiter)
	if err != nil {
		return nil, err
	}
	return rate, nil
}
