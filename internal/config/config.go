// Package config is the server's configuration: one typed struct with defaults
// and validation, filled by koanf from a YAML file, then SPARTAN_* environment
// variables, then command-line flags.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
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
	// Groups maps a group's name to its members: groups that exist from the
	// start, whose members change only here.
	Groups map[string][]string `koanf:"groups"`
	// MaxMessageBytes is the largest message payload accepted.
	MaxMessageBytes int `koanf:"max_message_bytes"`
	// MaxPendingMessages is how many messages may wait for a chat request's answer.
	MaxPendingMessages int `koanf:"max_pending_messages"`
	// Store says where messages are kept.
	Store Store `koanf:"store"`
	// Cache bounds the in-memory cache of recent messages.
	Cache Cache `koanf:"cache"`
	// Rate limits how fast a caller may call, per class of RPC.
	Rate Rate `koanf:"rate"`
	// Redis, when set, is shared by every server of a cluster.
	Redis Redis `koanf:"redis"`
	// CORS says which web pages on other origins may call the server from a browser.
	CORS CORS `koanf:"cors"`
	// Retention bounds what the store keeps.
	Retention Retention `koanf:"retention"`
	// Limits bound what one client may hold of the server.
	Limits Limits `koanf:"limits"`
	// Admin is the operator's view inside the server (pprof, runtime statistics).
	Admin Admin `koanf:"admin"`
	// Auth is how callers prove who they are.
	Auth Auth `koanf:"auth"`
	// TLS, when its files are set, serves TLS only.
	TLS TLS `koanf:"tls"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `koanf:"log_level"`
}

// Store kinds.
const (
	// StoreBolt keeps messages durably in one bbolt file at Store.Path.
	StoreBolt = "bolt"
	// StoreMemory keeps messages in memory: they are lost on restart.
	StoreMemory = "memory"
	// StoreRedis keeps everything in the Redis at redis.url, which several
	// servers may share: any of them serves any user.
	StoreRedis = "redis"
)

// Store says where messages are kept.
type Store struct {
	// Kind is bolt (durable, the default), memory, or redis (shared by
	// several servers; needs redis.url).
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

// Rate is the per-caller rate limit (the @rate decorator): the "send"
// class in Calls, WindowSeconds and Burst, the other classes in Classes.
type Rate struct {
	// Calls is how many messages a user may send per window; the brief's
	// max_call_per_30_seconds_per_user (with a window of 30s).
	Calls int `koanf:"calls"`
	// WindowSeconds is the length of the window, in seconds.
	WindowSeconds int `koanf:"window_seconds"`
	// Burst is how many sends may come at once; 0 means one second's worth
	// (Calls / WindowSeconds), at least 1.
	Burst int `koanf:"burst"`
	// OnRedisError is what to do when Redis cannot be asked: "allow" the
	// call (and log a warning) or "deny" it (Unavailable).
	OnRedisError string `koanf:"on_redis_error"`
	// Classes are the limits of the other classes the proto declares
	// (request, login, stream, ack), each overriding its default.
	Classes map[string]RateClass `koanf:"classes"`
}

// RateClass is one class's limit: Calls per WindowSeconds, Burst at once.
type RateClass struct {
	Calls         int `koanf:"calls"`
	WindowSeconds int `koanf:"window_seconds"`
	Burst         int `koanf:"burst"`
}

// Redis is the shared engine of a cluster; today the rate limiter's.
type Redis struct {
	// URL is redis://[user:password@]host:port/db (rediss:// for TLS);
	// empty: no Redis, everything stays in the process.
	URL string `koanf:"url"`
}

// DefaultRateClasses are the limits of the classes other than "send":
// numbers that normal use never meets, there to stop a runaway client.
func DefaultRateClasses() map[string]RateClass {
	return map[string]RateClass{
		"request": {Calls: 60, WindowSeconds: 60, Burst: 20},    // chat requests and answers
		"login":   {Calls: 120, WindowSeconds: 60, Burst: 30},   // per remote address
		"stream":  {Calls: 120, WindowSeconds: 60, Burst: 30},   // ReceiveMsg streams opened
		"ack":     {Calls: 6000, WindowSeconds: 60, Burst: 200}, // acknowledgements
		"keys":    {Calls: 120, WindowSeconds: 60, Burst: 30},   // publishing and fetching identity keys
	}
}

// SendClass is the "send" class as configured, its burst defaulted.
func (r Rate) SendClass() RateClass {
	burst := r.Burst
	if burst <= 0 {
		burst = max(1, r.Calls/max(1, r.WindowSeconds))
	}
	return RateClass{Calls: r.Calls, WindowSeconds: r.WindowSeconds, Burst: burst}
}

// AllClasses is every class's limit: the defaults, overridden by Classes,
// and "send".
func (r Rate) AllClasses() map[string]RateClass {
	out := DefaultRateClasses()
	for name, c := range r.Classes {
		d := out[name]
		if c.Calls > 0 {
			d.Calls = c.Calls
		}
		if c.WindowSeconds > 0 {
			d.WindowSeconds = c.WindowSeconds
		}
		if c.Burst > 0 {
			d.Burst = c.Burst
		}
		out[name] = d
	}
	out["send"] = r.SendClass()
	return out
}

// CORS is the cross-origin policy for browsers: which web pages, served from
// another origin than the server's, may call it with Connect or gRPC-Web.
type CORS struct {
	// AllowedOrigins are the origins, each scheme://host[:port] as a browser
	// sends it in the Origin header (http://localhost:5173), whose pages may
	// call the server. "*" alone allows every origin: for development only.
	// Empty, the default, turns CORS off: only pages of the server's own
	// origin may call it from a browser.
	AllowedOrigins []string `koanf:"allowed_origins"`
}

// Retention bounds what the store keeps, in every store kind.
type Retention struct {
	// MessagesPerLog keeps the newest messages of each inbox and
	// conversation (0: all, for ever).
	MessagesPerLog int `koanf:"messages_per_log"`
	// MaxAgeDays drops messages older than this many days, as their log is
	// written to (0: no age limit).
	MaxAgeDays int `koanf:"max_age_days"`
	// MaxUnread is how many messages a user has not acknowledged that an
	// inbox keeps past the two bounds above; beyond it they go too, and the
	// user is told how many. 0: no bound.
	MaxUnread int `koanf:"max_unread"`
}

// Limits bound what one client may hold of the server.
type Limits struct {
	// BodySeconds is how long a request's body may take to arrive once its
	// headers have: a client that sends a body byte by byte, or never,
	// gets DeadlineExceeded instead of holding the call open.
	BodySeconds int `koanf:"body_seconds"`
	// ConnsPerAddress bounds the connections one remote IP address may have
	// open at once; past it, a new connection is closed at once (and the
	// server logs a warning). 0 turns the bound off.
	ConnsPerAddress int `koanf:"conns_per_address"`
	// StreamsPerUser bounds the streams (ReceiveMsg) one user may have open
	// on one server at once; past it, ResourceExhausted. 0 turns it off.
	StreamsPerUser int `koanf:"streams_per_user"`
}

// Admin is a second, loopback-only address that serves net/http/pprof and
// the runtime's statistics, for an operator on the server's machine.
type Admin struct {
	// Addr is host:port on a loopback address (127.0.0.1:6060, [::1]:6060,
	// localhost:6060); empty, the default, serves nothing.
	Addr string `koanf:"addr"`
}

// validate checks that the admin address is on loopback, so profiles and
// statistics never reach the network.
func (a *Admin) validate() error {
	if a.Addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(a.Addr)
	if err != nil {
		return fmt.Errorf("admin.addr %q is not host:port: %w", a.Addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("admin.addr %q has no valid port", a.Addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("admin.addr %q is not on loopback: use 127.0.0.1, ::1 or localhost, so that profiles stay on this machine", a.Addr)
	}
	return nil
}

// TLS is the server's certificate: with both files set, the port speaks TLS
// only (gRPC and Connect over HTTP/2, gRPC-Web and Connect over HTTP/1.1
// too), and no plaintext.
type TLS struct {
	// CertFile is the PEM certificate chain.
	CertFile string `koanf:"cert_file"`
	// KeyFile is the PEM private key.
	KeyFile string `koanf:"key_file"`
}

// On says TLS is configured.
func (t *TLS) On() bool { return t.CertFile != "" || t.KeyFile != "" }

// validate checks that both files or neither are set.
func (t *TLS) validate() error {
	if t.On() && (t.CertFile == "" || t.KeyFile == "") {
		return errors.New("tls.cert_file and tls.key_file go together: set both, or neither")
	}
	return nil
}

// Auth is how callers prove who they are (docs/SECURITY.md, "Authentication").
type Auth struct {
	// Required refuses every call without a session token but the log-in
	// steps (Unauthenticated). Off, a call without one acts for the user its
	// request names: for tests and trusted networks only.
	Required bool `koanf:"required"`
	// Secret is the base64 of 32 bytes that sign challenges and session
	// tokens, the same on every server of a cluster. Empty: made once and
	// kept in the store, which a cluster shares.
	Secret string `koanf:"secret"`
	// TokenMinutes is how long a session token is good for; fractions are
	// allowed (0.05 is 3 s, for trying expiry), down to one second.
	TokenMinutes float64 `koanf:"token_minutes"`
	// Keys pins users' Ed25519 public keys (base64); other users' first key
	// is taken as theirs.
	Keys map[string]string `koanf:"keys"`
}

// SecretBytes decodes Secret (nil when empty).
func (a *Auth) SecretBytes() ([]byte, error) {
	if a.Secret == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(a.Secret)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("auth.secret is not the base64 of 32 bytes")
	}
	return b, nil
}

// PinnedKeys decodes Keys.
func (a *Auth) PinnedKeys() (map[string][]byte, error) {
	out := make(map[string][]byte, len(a.Keys))
	for user, k := range a.Keys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("auth.keys.%s is not the base64 of a 32-byte Ed25519 public key", user)
		}
		out[user] = b
	}
	return out, nil
}

// validate checks the secret, the keys and the token's lifetime.
func (a *Auth) validate(users map[string]bool) error {
	if _, err := a.SecretBytes(); err != nil {
		return err
	}
	if _, err := a.PinnedKeys(); err != nil {
		return err
	}
	for user := range a.Keys {
		if !users[user] {
			return fmt.Errorf("auth.keys names %q, who is not in 'users'", user)
		}
	}
	if !(a.TokenMinutes*60 >= 1 && a.TokenMinutes <= 7*24*60) { // also refuses NaN
		return fmt.Errorf("auth.token_minutes %g is out of range (one second, 1/60, to a week, %d)", a.TokenMinutes, 7*24*60)
	}
	return nil
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
		Rate:      Rate{Calls: 450, WindowSeconds: 30, OnRedisError: "allow"},
		Retention: Retention{MessagesPerLog: 10_000, MaxUnread: 100_000},
		Limits:    Limits{BodySeconds: 10, ConnsPerAddress: 256, StreamsPerUser: 16},
		Auth:      Auth{Required: true, TokenMinutes: 60},
		LogLevel:  "info",
	}
}

// originRE matches a web origin as a browser serialises it: a scheme, a host
// name or bracketed IPv6 address, and an optional port; no user, path, query
// or fragment, and no '*' (which rs/cors would take for a wildcard).
var originRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://(\[[0-9A-Fa-f:.]+\]|[^/?#@*\[\]:\s]+)(:([0-9]{1,5}))?$`)

// validate checks that every allowed origin is "*" or scheme://host[:port],
// and that "*" stands alone.
func (c *CORS) validate() error {
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			if len(c.AllowedOrigins) > 1 {
				return errors.New(`cors.allowed_origins lists "*" with other origins: "*" alone allows every origin`)
			}
			continue
		}
		m := originRE.FindStringSubmatch(o)
		if m != nil && m[3] != "" {
			if port, err := strconv.Atoi(m[3]); err != nil || port < 1 || port > 65535 {
				m = nil
			}
		}
		if m == nil {
			return fmt.Errorf(`cors.allowed_origins: %q is not an origin: write "*" or scheme://host[:port] with no path, not even a trailing '/' (e.g. http://localhost:5173)`, o)
		}
	}
	return nil
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
	case StoreRedis:
		if c.Redis.URL == "" {
			return errors.New("store.kind redis needs redis.url (e.g. redis://127.0.0.1:6379/0)")
		}
	default:
		return fmt.Errorf("store.kind %q is not one of bolt, memory, redis", c.Store.Kind)
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
	if c.Rate.Burst < 0 {
		return fmt.Errorf("rate.burst %d must be 0 (one second's worth) or more", c.Rate.Burst)
	}
	switch c.Rate.OnRedisError {
	case "allow", "deny":
	default:
		return fmt.Errorf("rate.on_redis_error %q is not one of allow, deny", c.Rate.OnRedisError)
	}
	known := DefaultRateClasses()
	for name, rc := range c.Rate.Classes {
		if _, ok := known[name]; !ok {
			return fmt.Errorf("rate.classes.%s is not a class: the classes are ack, keys, login, request, stream (and send, set by rate.calls)", name)
		}
		if rc.Calls < 0 || rc.WindowSeconds < 0 || rc.Burst < 0 {
			return fmt.Errorf("rate.classes.%s: calls, window_seconds and burst must not be negative", name)
		}
	}
	if u := c.Redis.URL; u != "" && !strings.HasPrefix(u, "redis://") && !strings.HasPrefix(u, "rediss://") && !strings.HasPrefix(u, "unix://") {
		return fmt.Errorf("redis.url %q is not a redis:// (or rediss://, unix://) URL", quoteURL(u))
	}
	if err := c.CORS.validate(); err != nil {
		return err
	}
	if c.Retention.MessagesPerLog < 0 || c.Retention.MaxAgeDays < 0 || c.Retention.MaxUnread < 0 {
		return fmt.Errorf("retention: messages_per_log %d, max_age_days %d and max_unread %d must each be 0 (no bound) or more",
			c.Retention.MessagesPerLog, c.Retention.MaxAgeDays, c.Retention.MaxUnread)
	}
	if err := c.Auth.validate(seen); err != nil {
		return err
	}
	if err := c.TLS.validate(); err != nil {
		return err
	}
	if err := c.Admin.validate(); err != nil {
		return err
	}
	if c.Limits.BodySeconds < 1 {
		return fmt.Errorf("limits.body_seconds %d must be at least 1", c.Limits.BodySeconds)
	}
	if c.Limits.StreamsPerUser < 0 {
		return fmt.Errorf("limits.streams_per_user %d must be 0 (no bound) or more", c.Limits.StreamsPerUser)
	}
	if c.Limits.ConnsPerAddress < 0 {
		return fmt.Errorf("limits.conns_per_address %d must be 0 (no bound) or more", c.Limits.ConnsPerAddress)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level %q is not one of debug, info, warn, error", c.LogLevel)
	}
	return nil
}

// quoteURL leaves a URL's password out of an error message.
func quoteURL(u string) string {
	if at := strings.LastIndex(u, "@"); at >= 0 {
		if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
			return u[:scheme+3] + "..." + u[at:]
		}
	}
	return u
}
