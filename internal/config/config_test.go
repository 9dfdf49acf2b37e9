package config_test

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/spartan-messenger/spartan/internal/config"
)

func load(t *testing.T, args []string, environ []string) (config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := config.NewFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return config.Load(flags, environ)
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		check   func(t *testing.T, c config.Config)
	}{
		{
			name: "brief's file loads unchanged, its keys mapped onto ours",
			args: []string{"-config", "testdata/brief.yaml"},
			check: func(t *testing.T, c config.Config) {
				if !slices.Equal(c.Users, []string{"alice", "bob", "charlie"}) {
					t.Errorf("users = %v", c.Users)
				}
				if c.Cache.MessagesPerLog != 10 || c.Rate.Calls != 5 || c.Rate.WindowSeconds != 30 {
					t.Errorf("mapped keys: cache %+v rate %+v", c.Cache, c.Rate)
				}
				// 5 per 30 s: less than one a second, so a burst of one.
				if send := c.Rate.SendClass(); send.Burst != 1 {
					t.Errorf("send class %+v, want a burst of 1", send)
				}
				if !slices.Equal(c.Groups["group2"], []string{"bob", "charlie"}) {
					t.Errorf("groups = %v", c.Groups)
				}
			},
		},
		{
			name:    "a token of a fraction of a minute",
			args:    []string{"-config", "testdata/ours.yaml"},
			environ: []string{"SPARTAN_AUTH__TOKEN_MINUTES=0.05"},
			check: func(t *testing.T, c config.Config) {
				if c.Auth.TokenMinutes != 0.05 {
					t.Errorf("auth.token_minutes = %g, want 0.05", c.Auth.TokenMinutes)
				}
			},
		},
		{
			name: "our keys; the file's users replace the defaults",
			args: []string{"-config", "testdata/ours.yaml"},
			check: func(t *testing.T, c config.Config) {
				if c.Port != 4000 || !slices.Equal(c.Users, []string{"ann", "ben"}) || c.Cache.MessagesPerLog != 7 || c.Rate.WindowSeconds != 10 {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name:    "environment overrides the file, flags override the environment",
			args:    []string{"-config", "testdata/ours.yaml", "-port", "5000"},
			environ: []string{"SPARTAN_PORT=4500", "SPARTAN_USERS=x,y,z", "SPARTAN_CACHE__MESSAGES_PER_LOG=3", "OTHER=1"},
			check: func(t *testing.T, c config.Config) {
				if c.Port != 5000 || !slices.Equal(c.Users, []string{"x", "y", "z"}) || c.Cache.MessagesPerLog != 3 {
					t.Errorf("got port %d users %v cache %+v", c.Port, c.Users, c.Cache)
				}
			},
		},
		{
			name:    "store and cache keys",
			args:    []string{"-config", "testdata/store.yaml"},
			environ: []string{"SPARTAN_CACHE__RPC_MAX_BYTES=4096"},
			check: func(t *testing.T, c config.Config) {
				want := config.Cache{MessagesPerLog: 20, MaxEntries: 500, MaxBytes: 1 << 20, RPCEntries: 0, RPCMaxBytes: 4096}
				if c.Store.Kind != config.StoreMemory || c.Cache != want {
					t.Errorf("got store %+v cache %+v, want cache %+v", c.Store, c.Cache, want)
				}
			},
		},
		{
			name: "default store: a bolt file under ./data",
			args: []string{"-config", "testdata/ours.yaml"},
			check: func(t *testing.T, c config.Config) {
				if c.Store.Kind != config.StoreBolt || c.Store.Path != "./data/spartan.db" {
					t.Errorf("store = %+v", c.Store)
				}
			},
		},
		{
			name: "CORS origins from the file",
			args: []string{"-config", "testdata/cors.yaml"},
			check: func(t *testing.T, c config.Config) {
				want := []string{"http://localhost:5173", "https://chat.example.com", "http://[::1]:8080"}
				if !slices.Equal(c.CORS.AllowedOrigins, want) {
					t.Errorf("cors.allowed_origins = %q, want %q", c.CORS.AllowedOrigins, want)
				}
			},
		},
		{
			name:    "CORS origins from the environment, comma-separated, replace the file's",
			args:    []string{"-config", "testdata/cors.yaml"},
			environ: []string{"SPARTAN_CORS__ALLOWED_ORIGINS=https://app.example.com:8443,http://127.0.0.1:3001"},
			check: func(t *testing.T, c config.Config) {
				want := []string{"https://app.example.com:8443", "http://127.0.0.1:3001"}
				if !slices.Equal(c.CORS.AllowedOrigins, want) {
					t.Errorf("cors.allowed_origins = %q, want %q", c.CORS.AllowedOrigins, want)
				}
			},
		},
		{
			name:    "CORS for every origin",
			args:    []string{"-config", "testdata/ours.yaml"},
			environ: []string{"SPARTAN_CORS__ALLOWED_ORIGINS=*"},
			check: func(t *testing.T, c config.Config) {
				if !slices.Equal(c.CORS.AllowedOrigins, []string{"*"}) {
					t.Errorf("cors.allowed_origins = %q, want [*]", c.CORS.AllowedOrigins)
				}
			},
		},
		{
			name:    "CORS turned off from the environment",
			args:    []string{"-config", "testdata/cors.yaml"},
			environ: []string{"SPARTAN_CORS__ALLOWED_ORIGINS="},
			check: func(t *testing.T, c config.Config) {
				if len(c.CORS.AllowedOrigins) != 0 {
					t.Errorf("cors.allowed_origins = %q, want none", c.CORS.AllowedOrigins)
				}
			},
		},
		{
			name:    "admin on loopback, limits from the environment",
			args:    []string{"-config", "testdata/ours.yaml"},
			environ: []string{"SPARTAN_ADMIN__ADDR=[::1]:6060", "SPARTAN_LIMITS__CONNS_PER_ADDRESS=0"},
			check: func(t *testing.T, c config.Config) {
				if c.Admin.Addr != "[::1]:6060" || c.Limits.ConnsPerAddress != 0 || c.Limits.BodySeconds != 10 {
					t.Errorf("admin %+v, limits %+v", c.Admin, c.Limits)
				}
			},
		},
		{
			name:    "rate classes and Redis from the environment",
			args:    []string{"-config", "testdata/ours.yaml"},
			environ: []string{"SPARTAN_RATE__CLASSES__LOGIN__CALLS=5", "SPARTAN_REDIS__URL=redis://127.0.0.1:6379/0", "SPARTAN_RATE__ON_REDIS_ERROR=deny"},
			check: func(t *testing.T, c config.Config) {
				all := c.Rate.AllClasses()
				if all["login"].Calls != 5 || all["login"].WindowSeconds != 60 || all["request"] != config.DefaultRateClasses()["request"] {
					t.Errorf("classes %+v", all)
				}
				if c.Redis.URL != "redis://127.0.0.1:6379/0" || c.Rate.OnRedisError != "deny" {
					t.Errorf("redis %+v, rate %+v", c.Redis, c.Rate)
				}
			},
		},
		{
			name: "the repository's config.yaml, as make run reads it",
			args: []string{"-config", "../../config.yaml"},
			check: func(t *testing.T, c config.Config) {
				if c.Port != 3000 || len(c.Users) != 8 || c.Store.Kind != config.StoreBolt || len(c.CORS.AllowedOrigins) != 0 || len(c.Groups["group1"]) != 4 {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "no file: the brief's users on port 3000",
			args: []string{"-config", ""},
			check: func(t *testing.T, c config.Config) {
				if c.Port != 3000 || len(c.Users) != 8 || c.Users[0] != "alice" || c.MaxMessageBytes != 64<<10 {
					t.Errorf("got %+v", c)
				}
				if len(c.CORS.AllowedOrigins) != 0 {
					t.Errorf("cors.allowed_origins = %q by default, want none (CORS off)", c.CORS.AllowedOrigins)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, tt.args, tt.environ)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"no users", []string{"-config", "testdata/no-users.yaml"}, nil, "no users are configured"},
		{"duplicate user", []string{"-config", "testdata/duplicate-user.yaml"}, nil, `user "alice" is listed twice`},
		{"empty name", []string{"-config", "testdata/empty-name.yaml"}, nil, "user 2 of 'users' has an empty name"},
		{"bad port", []string{"-config", "testdata/bad-port.yaml"}, nil, "port 70000 is not a TCP port"},
		{"unknown key", []string{"-config", "testdata/unknown-key.yaml"}, nil, "unknown key(s): colour"},
		{"not YAML", []string{"-config", "testdata/not-yaml.yaml"}, nil, "testdata/not-yaml.yaml"},
		{"missing file", []string{"-config", "testdata/nope.yaml"}, nil, "no such file"},
		{"brief's key and ours", []string{"-config", "testdata/both-keys.yaml"}, nil, "both max_num_messages_per_user and cache.messages_per_log are set"},
		{"group member not a user", []string{"-config", "testdata/bad-group.yaml"}, nil, `group "g1" lists "zed"`},
		{"bad port from env", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_PORT=-1"}, "port -1 is not a TCP port"},
		{"not a number", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_PORT=abc"}, "port"},
		{"bad name", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_USERS=a b"}, `user name "a b" is not allowed`},
		{"message size", []string{"-config", "testdata/ours.yaml", "-max_message_bytes", "-5"}, nil, "max_message_bytes -5 is out of range"},
		{"store kind", []string{"-config", "testdata/bad-store-kind.yaml"}, nil, `store.kind "redis-ish" is not one of bolt, memory`},
		{"empty store path", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_STORE__PATH= "}, "store.path is empty"},
		{"cache entries below one log", []string{"-config", "testdata/bad-cache.yaml"}, nil, "cache.max_entries 10 must be at least cache.messages_per_log (50)"},
		{"cache bytes", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_CACHE__MAX_BYTES=10"}, "cache.max_bytes 10 must be at least 1024"},
		{"rpc cache entries", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_CACHE__RPC_ENTRIES=-1"}, "cache.rpc_entries -1 must be 0 (off) or more"},
		{"CORS origin with a path", []string{"-config", "testdata/bad-cors.yaml"}, nil, `cors.allowed_origins: "http://localhost:5173/" is not an origin`},
		{"CORS origin without a scheme", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_CORS__ALLOWED_ORIGINS=localhost:5173"}, `"localhost:5173" is not an origin`},
		{"CORS wildcard host", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_CORS__ALLOWED_ORIGINS=https://*.example.com"}, `"https://*.example.com" is not an origin`},
		{"CORS origin with a bad port", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_CORS__ALLOWED_ORIGINS=http://localhost:70000"}, `"http://localhost:70000" is not an origin`},
		{"CORS origin with a user", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_CORS__ALLOWED_ORIGINS=http://me@localhost"}, `"http://me@localhost" is not an origin`},
		{"CORS empty origin", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_CORS__ALLOWED_ORIGINS=http://a.example,"}, `"" is not an origin`},
		{"CORS star among origins", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_CORS__ALLOWED_ORIGINS=*,http://localhost:5173"}, `lists "*" with other origins`},
		{"log level", []string{"-config", "testdata/ours.yaml", "-log_level", "loud"}, nil, `log_level "loud"`},
		{"admin on the network", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_ADMIN__ADDR=0.0.0.0:6060"}, `admin.addr "0.0.0.0:6060" is not on loopback`},
		{"admin on every interface", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_ADMIN__ADDR=:6060"}, `admin.addr ":6060" is not on loopback`},
		{"admin without a port", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_ADMIN__ADDR=127.0.0.1"}, `admin.addr "127.0.0.1" is not host:port`},
		{"body deadline", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_LIMITS__BODY_SECONDS=0"}, "limits.body_seconds 0 must be at least 1"},
		{"redis error policy", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_RATE__ON_REDIS_ERROR=ignore"}, `rate.on_redis_error "ignore" is not one of allow, deny`},
		{"unknown rate class", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_RATE__CLASSES__SHOUT__CALLS=3"}, "rate.classes.shout is not a class"},
		{"negative burst", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_RATE__BURST=-1"}, "rate.burst -1 must be 0"},
		{"redis URL", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_REDIS__URL=http://u:secret@h:6379"}, `redis.url "http://...@h:6379" is not a redis://`},
		{"token under a second", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_AUTH__TOKEN_MINUTES=0.01"}, "auth.token_minutes 0.01 is out of range"},
		{"token over a week", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_AUTH__TOKEN_MINUTES=10081"}, "auth.token_minutes 10081 is out of range"},
		{"token of no length", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_AUTH__TOKEN_MINUTES=NaN"}, "auth.token_minutes NaN is out of range"},
		{"connections per address", []string{"-config", "testdata/ours.yaml"}, []string{"SPARTAN_LIMITS__CONNS_PER_ADDRESS=-1"}, "limits.conns_per_address -1 must be 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tt.args, tt.environ)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}
