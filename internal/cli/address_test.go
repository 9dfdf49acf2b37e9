package cli

import "testing"

func TestServerAddress(t *testing.T) {
	t.Parallel()
	tests := []struct{ flag, dial, port string }{
		{"localhost:3000", "localhost:3000", "3000"},
		{"localhost", "localhost:3000", "3000"},
		{"127.0.0.1:4000", "127.0.0.1:4000", "4000"},
		{"::1", "[::1]:3000", "3000"},
		{"[::1]:5000", "[::1]:5000", "5000"},
		{"http://localhost:3001", "http://localhost:3001", "3001"},
		{"https://chat.example", "https://chat.example", "443"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			t.Parallel()
			dial := withDefaultPort(tt.flag)
			if dial != tt.dial {
				t.Errorf("withDefaultPort(%q) = %q, want %q", tt.flag, dial, tt.dial)
			}
			if p := port(dial); p != tt.port {
				t.Errorf("port(%q) = %q, want %q", dial, p, tt.port)
			}
		})
	}
}
