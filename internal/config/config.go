// Package config is the server's configuration: one typed struct with defaults
// and validation, filled by koanf from a YAML file, then SPARTAN_* environment
// variables, then command-line flags.
package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Config is everything the server can be told.
type Config struct {
	// Host is the address to listen on; empty means every interface.
	Host string `koanf:"host"`
	// Port is the TCP port to serve on; 0 picks a free one.
	Port int `koanf:"port"`
	// Users are the users of the server, in the order clients list them.
	Users []string `koanf:"users"`
	// Groups maps a group's name to its members (group chats come later).
	Groups map[string][]string `koanf:"groups"`
	// MaxMessageBytes is the largest message payload accepted.
	MaxMessageBytes int `koanf:"max_message_bytes"`
	// MaxPendingMessages is how many messages may wait for a chat request's answer.
	MaxPendingMessages int `koanf:"max_pending_messages"`
	// Cache bounds the in-memory cache of recent messages.
	Cache Cache `koanf:"cache"`
	// Rate limits how fast a user may send.
	Rate Rate `koanf:"rate"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `koanf:"log_level"`
}

// Cache bounds the cache of recent messages.
type Cache struct {
	// MessagesPerLog is how many of the newest messages of one inbox or
	// conversation are kept; the brief's max_num_messages_per_user.
	MessagesPerLog int `koanf:"messages_per_log"`
}

// Rate limits how fast a user may send.
type Rate struct {
	// Calls is how many sends a user may make per Window; the brief's
	// max_call_per_30_seconds_per_user (with a window of 30s).
	Calls int `koanf:"calls"`
	// WindowSeconds is the length of the window, in seconds.
	WindowSeconds int `koanf:"window_seconds"`
}

// BriefUsers are the users of the original brief, the embedded default.
var briefUsers = []string{"alice", "bob", "charlie", "eve", "foo", "bar", "baz", "qux"}

// Default returns the configuration the server runs with when told nothing.
func Default() Config {
	return Config{
		Port:               3000,
		Users:              append([]string(nil), briefUsers...),
		MaxMessageBytes:    64 << 10,
		MaxPendingMessages: 100,
		Cache:              Cache{MessagesPerLog: 100},
		Rate:               Rate{Calls: 450, WindowSeconds: 30},
		LogLevel:           "info",
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// maxMessageBytesLimit keeps a payload well inside one gRPC message.
const maxMessageBytesLimit = 4 << 20

// Validate returns an error naming the first problem it finds, nil if none.
func (c *Config) Validate() error {
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("port %d is not a TCP port (0 to 65535)", c.Port)
	}
	if len(c.Users) == 0 {
		return errors.New("no users are configured: list them under 'users'")
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		if strings.TrimSpace(u) == "" {
			return fmt.Errorf("user %d of 'users' has an empty name", i+1)
		}
		if !nameRE.MatchString(u) {
			return fmt.Errorf("user name %q is not allowed: use 1 to 64 letters, digits, '_', '.' or '-'", u)
		}
		if seen[u] {
			return fmt.Errorf("user %q is listed twice in 'users'", u)
		}
		seen[u] = true
	}
	for g, members := range c.Groups {
		if !nameRE.MatchString(g) {
			return fmt.Errorf("group name %q is not allowed: use 1 to 64 letters, digits, '_', '.' or '-'", g)
		}
		if seen[g] {
			return fmt.Errorf("group %q has the name of a user", g)
		}
		for _, m := range members {
			if !seen[m] {
				return fmt.Errorf("group %q lists %q, who is not in 'users'", g, m)
			}
		}
	}
	if c.MaxMessageBytes < 1 || c.MaxMessageBytes > maxMessageBytesLimit {
		return fmt.Errorf("max_message_bytes %d is out of range (1 to %d)", c.MaxMessageBytes, maxMessageBytesLimit)
	}
	if c.MaxPendingMessages < 1 {
		return fmt.Errorf("max_pending_messages %d must be at least 1", c.MaxPendingMessages)
	}
	if c.Cache.MessagesPerLog < 1 {
		return fmt.Errorf("cache.messages_per_log %d must be at least 1", c.Cache.MessagesPerLog)
	}
	if c.Rate.Calls < 1 {
		return fmt.Errorf("rate.calls %d must be at least 1", c.Rate.Calls)
	}
	if c.Rate.WindowSeconds < 1 {
		return fmt.Errorf("rate.window_seconds %d must be at least 1", c.Rate.WindowSeconds)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level %q is not one of debug, info, warn, error", c.LogLevel)
	}
	return nil
}
