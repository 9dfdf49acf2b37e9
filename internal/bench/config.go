package bench

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ServerConfig is what spartan-bench tells a spartan-server it starts:
// the users of the run, the group, the store, and limits raised out of the
// way of the load (authentication stays required).
type ServerConfig struct {
	// Users are every user of the run.
	Users []string
	// Groups are the configured groups and their members.
	Groups map[string][]string
	// Store is memory, bolt or redis.
	Store string
	// BoltPath is the bolt file, with Store bolt.
	BoltPath string
	// RedisURL is the shared Redis, with Store redis.
	RedisURL string
	// AdminAddr is the admin address, on loopback (127.0.0.1:0 when
	// empty: a free port).
	AdminAddr string
}

// unlimited is a rate far past what the driver sends: the limiter is still
// asked on every call, as in production, but never refuses.
const unlimited = 100_000_000

// YAML renders c as a spartan-server config.yaml. Authentication is
// required (clients log in with Ed25519 keys, bound on first use), the admin
// address is a free loopback port, connections per address are not bounded
// (every bench user has its own connection from 127.0.0.1), and every rate
// class allows far more than the run sends.
func (c ServerConfig) YAML() (string, error) {
	var b strings.Builder
	b.WriteString("users:\n")
	for _, u := range c.Users {
		fmt.Fprintf(&b, "  - %s\n", u)
	}
	if len(c.Groups) > 0 {
		b.WriteString("groups:\n")
		for _, g := range slices.Sorted(maps.Keys(c.Groups)) {
			fmt.Fprintf(&b, "  %s: [%s]\n", g, strings.Join(c.Groups[g], ", "))
		}
	}
	b.WriteString("auth:\n  required: true\n")
	admin := c.AdminAddr
	if admin == "" {
		admin = "127.0.0.1:0"
	}
	fmt.Fprintf(&b, "admin:\n  addr: %s\n", admin)
	b.WriteString("limits:\n  conns_per_address: 0\n  streams_per_user: 0\n")
	fmt.Fprintf(&b, "rate:\n  calls: %d\n  window_seconds: 1\n  burst: %d\n  classes:\n", unlimited, unlimited)
	for _, class := range []string{"request", "login", "stream", "ack", "keys"} {
		fmt.Fprintf(&b, "    %s: {calls: %d, window_seconds: 1, burst: %d}\n", class, unlimited, unlimited)
	}
	b.WriteString("log_level: warn\n")
	switch c.Store {
	case "memory":
		b.WriteString("store:\n  kind: memory\n")
	case "bolt":
		if c.BoltPath == "" {
			return "", errors.New("store bolt needs a file path")
		}
		fmt.Fprintf(&b, "store:\n  kind: bolt\n  path: %s\n", c.BoltPath)
	case "redis":
		if c.RedisURL == "" {
			return "", errors.New("store redis needs a Redis URL")
		}
		fmt.Fprintf(&b, "store:\n  kind: redis\nredis:\n  url: %s\n", c.RedisURL)
	default:
		return "", fmt.Errorf("store %q: want memory, bolt or redis", c.Store)
	}
	return b.String(), nil
}
