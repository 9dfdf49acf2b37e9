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
	// Store says where messages are kept.
	Store Store `koanf:"store"`
	// Cache bounds the in-memory cache of recent messages.
	Cache Cache `koanf:"cache"`
	// Rate limits how fast a user may send.
	Rate Rate `koanf:"rate"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `koanf:"log_level"`
}

// Store kinds.
const (
	// StoreBolt keeps messages durably in one bbolt file at Store.Path.
	StoreBolt = "bolt"
	// StoreMemory keeps messages in memory: they are lost on restart.
	StoreMemory = "memory"
)

// Store says where messages are kept.
type Store struct {
	// Kind is bolt (durable, the default) or memory.
	Kind string `koanf:"kind"`
	// Path is the bolt file; its directory is created if need be.
	Path string `koanf:"path"`
}

// Cache bounds the cache of recent messages and the response cache.
type Cache struct {
	// MessagesPerLog is how many of the newest messages of one inbox or
	// conversation are kept; the brief's max_num_messages_per_user.
	MessagesPerLog int `koanf:"messages_per_log"`
	// MaxEntries bounds the messages cached over all inboxes and conversations.
	MaxEntries int `koanf:"max_entries"`
	// MaxBytes bounds the cached messages' total size, in bytes.
	MaxBytes int64 `koanf:"max_bytes"`
	// RPCEntries bounds the responses the RPC response cache (the
	// @lru_cache decorator) keeps; 0 turns that cache off.
	RPCEntries int `koanf:"rpc_entries"`
	// RPCMaxBytes bounds the cached responses' total encoded size, in bytes.
	RPCMaxBytes int64 `koanf:"rpc_max_bytes"`
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
		Store:              Store{Kind: StoreBolt, Path: "./data/spartan.db"},
		Cache: Cache{
			MessagesPerLog: 100,
			MaxEntries:     100_000,
			MaxBytes:       64 << 20,
			RPCEntries:     4096,
			RPCMaxBytes:    16 << 20,
		},
		Rate:     Rate{Calls: 450, WindowSeconds: 30},
		LogLevel: "info",
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
	switch c.Store.Kind {
	case StoreBolt:
		if strings.TrimSpace(c.Store.Path) == "" {
			return errors.New("store.path is empty: name the file that keeps the messages, or set store.kind to memory")
		}
	case StoreMemory:
	default:
		return fmt.Errorf("store.kind %q is not one of bolt, memory", c.Store.Kind)
	}
	if c.Cache.MessagesPerLog < 1 {
		return fmt.Errorf("cache.messages_per_log %d must be at least 1", c.Cache.MessagesPerLog)
	}
	if c.Cache.MaxEntries < c.Cache.MessagesPerLog {
		return fmt.Errorf("cache.max_entries %d must be at least cache.messages_per_log (%d)", c.Cache.MaxEntries, c.Cache.MessagesPerLog)
	}
	if c.Cache.MaxBytes < 1<<10 {
		return fmt.Errorf("cache.max_bytes %d must be at least 1024", c.Cache.MaxBytes)
	}
	if c.Cache.RPCEntries < 0 {
		return fmt.Errorf("cache.rpc_entries %d must be 0 (off) or more", c.Cache.RPCEntries)
	}
	if c.Cache.RPCEntries > 0 && c.Cache.RPCMaxBytes < 1<<10 {
		return fmt.Errorf("cache.rpc_max_bytes %d must be at least 1024", c.Cache.RPCMaxBytes)
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
