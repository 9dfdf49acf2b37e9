package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/spartan-messenger/spartan/internal/bolt"
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/memory"
	spartanredis "github.com/spartan-messenger/spartan/internal/redis"
	"github.com/spartan-messenger/spartan/internal/rpccache"
)

// redisPrefix starts every key and channel the server uses in Redis.
const redisPrefix = "spartan:"

// subscribeLimit bounds how long a server waits at start-up for its
// subscription to the other servers' wake-ups.
const subscribeLimit = 10 * time.Second

// openEngines chooses, in one place, what keeps and carries the core's
// state: the store (memory, a bolt file, or Redis), the broker and the
// presence (within the process, or across servers through Redis when the
// store is shared), and connects to Redis when redis.url is set (the rate
// limiter uses it too). versions, if set, is the response cache's, which a
// shared store must invalidate on every server.
func (s *Server) openEngines(versions *rpccache.Versions) (chat.Store, chat.Broker, chat.Presence, error) {
	if s.cfg.Redis.URL != "" {
		opts, err := goredis.ParseURL(s.cfg.Redis.URL)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("redis.url: %w", err)
		}
		s.redis = goredis.NewUniversalClient(&goredis.UniversalOptions{
			Addrs:     []string{opts.Addr},
			DB:        opts.DB,
			Username:  opts.Username,
			Password:  opts.Password,
			TLSConfig: opts.TLSConfig,
		})
		s.redis.AddHook(s.metrics.RedisHook())
	}
	switch s.cfg.Store.Kind {
	case config.StoreMemory:
		return memory.NewStore(), memory.NewBroker(), memory.NewPresence(), nil
	case config.StoreRedis:
		s.redisPresence = spartanredis.NewPresence(s.redis, redisPrefix, s.log)
		on := spartanredis.Callbacks{Presence: s.redisPresence.Touch}
		if versions != nil {
			on.Changed = versions.Bump
		}
		s.redisBroker = spartanredis.NewBroker(s.redis, redisPrefix, on, s.log)
		select {
		case <-s.redisBroker.Ready():
		case <-time.After(subscribeLimit):
			return nil, nil, nil, fmt.Errorf("redis at %s did not answer within %s: is it running?", s.cfg.Redis.URL, subscribeLimit)
		}
		return spartanredis.New(s.redis, redisPrefix), s.redisBroker, s.redisPresence, nil
	default:
		db, err := bolt.Open(s.cfg.Store.Path, bolt.Options{})
		if err != nil {
			return nil, nil, nil, err
		}
		s.closeStore = db.Close
		return db, memory.NewBroker(), memory.NewPresence(), nil
	}
}

// changed is the core's hook after a committed change: it drops this
// server's stale responses at once, and, with a shared store, tells the
// other servers to drop theirs.
func (s *Server) changed(versions *rpccache.Versions) func(users []string) {
	if s.redisBroker == nil {
		return versions.Bump
	}
	return func(users []string) {
		versions.Bump(users)
		s.redisBroker.PublishChanged(context.Background(), users)
	}
}

// closeEngines closes the store, the broker and Redis, whichever are open.
func (s *Server) closeEngines() error {
	var errs []error
	if err := s.closeStore(); err != nil {
		errs = append(errs, err)
	}
	if s.redisBroker != nil {
		s.redisBroker.Close()
		s.redisBroker = nil
	}
	if s.redisPresence != nil {
		s.redisPresence.Close()
		s.redisPresence = nil
	}
	if s.redis != nil {
		if err := s.redis.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close redis: %w", err))
		}
		s.redis = nil
	}
	return errors.Join(errs...)
}
