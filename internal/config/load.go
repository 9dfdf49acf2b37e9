package config

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// EnvPrefix starts every environment variable the server reads. A double
// underscore separates nested keys: SPARTAN_CACHE__MESSAGES_PER_LOG.
const EnvPrefix = "SPARTAN_"

// DefaultPath is the file read when no -config flag is given, if it exists.
const DefaultPath = "config.yaml"

// briefKeys maps the original brief's config keys onto ours.
var briefKeys = map[string]string{
	"max_num_messages_per_user":        "cache.messages_per_log",
	"max_call_per_30_seconds_per_user": "rate.calls",
}

// Flags are the command-line flags that override the file and environment.
type Flags struct {
	fs   *flag.FlagSet
	path string
	// others are flags of fs that are not configuration keys.
	others map[string]bool
}

// NotConfig says that the flag name, defined on the same FlagSet, is no
// configuration key (a command, say), so Load leaves it alone.
func (f *Flags) NotConfig(name string) { f.others[name] = true }

// NewFlags defines the server's flags on fs.
func NewFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs, others: map[string]bool{}}
	fs.StringVar(&f.path, "config", "", "path of the YAML config file (default ./"+DefaultPath+" if it exists, else built-in defaults)")
	fs.String("host", "", "address to listen on (default: every interface)")
	fs.Int("port", 0, "TCP port to serve on (default 3000; 0 in the file picks a free port)")
	fs.String("log_level", "", "log level: debug, info, warn or error")
	fs.Int("max_message_bytes", 0, "largest message payload accepted, in bytes")
	return f
}

// Load builds the configuration from defaults, the config file, the
// environment (environ, as os.Environ gives it) and the flags
// that were set, then validates it.
func Load(flags *Flags, environ []string) (Config, error) {
	k := koanf.New(".")
	path := flags.path
	if path == "" {
		if _, err := os.Stat(DefaultPath); err == nil {
			path = DefaultPath
		} else if !errors.Is(err, fs.ErrNotExist) {
			return Config{}, fmt.Errorf("config file %s: %w", DefaultPath, err)
		}
	}
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
		if err := mapBriefKeys(k); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if err := k.Load(env.Provider(".", env.Opt{
		Prefix:        EnvPrefix,
		EnvironFunc:   func() []string { return environ },
		TransformFunc: envKey,
	}), nil); err != nil {
		return Config{}, fmt.Errorf("environment: %w", err)
	}
	set := map[string]any{}
	flags.fs.Visit(func(f *flag.Flag) {
		if f.Name != "config" && !flags.others[f.Name] {
			set[f.Name] = f.Value.(flag.Getter).Get()
		}
	})
	if err := k.Load(confmap.Provider(set, "."), nil); err != nil {
		return Config{}, fmt.Errorf("flags: %w", err)
	}
	cfg := Default()
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		ErrorUnused:      true,
		ZeroFields:       true,
		WeaklyTypedInput: true,
		Result:           &cfg,
		TagName:          "koanf",
		DecodeHook:       mapstructure.StringToSliceHookFunc(","),
	}}); err != nil {
		return Config{}, fmt.Errorf("config: %s", unusedKeyMessage(err))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// mapBriefKeys renames the brief's keys to ours; both at once is an error.
func mapBriefKeys(k *koanf.Koanf) error {
	for old, ours := range briefKeys {
		if !k.Exists(old) {
			continue
		}
		if k.Exists(ours) {
			return fmt.Errorf("both %s and %s are set; keep one", old, ours)
		}
		v := k.Get(old)
		k.Delete(old)
		if err := k.Set(ours, v); err != nil {
			return err
		}
	}
	return nil
}

// envKey turns SPARTAN_CACHE__MESSAGES_PER_LOG into cache.messages_per_log.
func envKey(key, value string) (string, any) {
	key = strings.ToLower(strings.TrimPrefix(key, EnvPrefix))
	return strings.ReplaceAll(key, "__", "."), value
}

// unusedKeyMessage turns mapstructure's multi-line report into one sentence.
func unusedKeyMessage(err error) string {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "decoding failed due to") {
			continue
		}
		if i := strings.Index(line, "has invalid keys: "); i >= 0 {
			line = "unknown key(s): " + line[i+len("has invalid keys: "):]
		}
		parts = append(parts, line)
	}
	return strings.Join(parts, "; ")
}
