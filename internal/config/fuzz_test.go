package config_test

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: no config file, however broken, panics the loader; what loads
// is valid.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"brief.yaml", "ours.yaml", "both-keys.yaml"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "config.yaml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("users: [a, a]\n"))
	f.Add([]byte("groups: {alice: [bob]}\nauth: {secret: x, keys: {zed: y}}\ntls: {cert_file: a}\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := load(t, []string{"-config", path}, nil)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("loaded a config that does not validate: %v", verr)
			}
		}
	})
}
