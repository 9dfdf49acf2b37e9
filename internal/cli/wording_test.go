package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// wordingTable is testdata/cli/wording.json: what both terminal clients
// print. The Python client's tests read the same file.
type wordingTable struct {
	Users []string `json:"users"`
	Cases []struct {
		Name   string   `json:"name"`
		User   string   `json:"user"`
		Lines  []string `json:"lines"`
		Expect []string `json:"expect"`
	} `json:"cases"`
}

// TestSharedWording runs every case of the shared table through the CLI on
// a pipe, against a fresh server.
func TestSharedWording(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cli", "wording.json"))
	if err != nil {
		t.Fatal(err)
	}
	var table wordingTable
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatalf("wording.json: %v", err)
	}
	if len(table.Cases) == 0 {
		t.Fatal("wording.json has no cases")
	}
	for _, tc := range table.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			addr, _ := startServer(t)
			s := startCLI(t, tc.User, "-server", addr)
			for _, l := range tc.Lines {
				s.typeLine(t, l)
			}
			if err := s.in.Close(); err != nil {
				t.Fatal(err)
			}
			s.wantExit(t, 0)
			s.screen.Expect(t, wait, tc.Expect...)
		})
	}
}
