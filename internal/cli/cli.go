// Package cli is Spartan Messenger's terminal client: the brief's transcript
// (connect, pick a user or answer a request, chat), built on the Go client
// library in clients/go.
package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/clients/go/keystore"
)

// Exit statuses of Run.
const (
	exitOK      = 0
	exitServer  = 1 // the server cannot be reached, or is gone
	exitUsage   = 2 // bad command line or unknown user
	exitKeys    = 1 // the key directory cannot be used
	callTimeout = 10 * time.Second
)

// Run is the whole CLI: it parses args, logs in, and runs the chat until the
// user leaves or ctx ends. It returns the process's exit status.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spartan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "localhost:3000", "address of the Spartan server, host:port; a comma-separated list names servers of one cluster, tried in turn")
	giveUp := fs.Duration("give-up", 30*time.Second, "how long to keep reconnecting to a server that is gone")
	keyDir := fs.String("key-dir", "", "directory of your encryption keys (default: one per server and user in your config directory)")
	useTLS := fs.Bool("tls", false, "talk to the server over TLS")
	caFile := fs.String("ca", "", "with -tls: the PEM certificate(s) to trust instead of the system's")
	fs.Usage = func() {
		_, _ = fmt.Fprintf(stderr, "usage: spartan [-server host:port[,host:port...]] [-give-up 30s] [-key-dir DIR] [-tls [-ca FILE]] USER\n\nChat on a Spartan server as USER, end-to-end encrypted.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage // flag has said why and shown the usage
	}
	// Flags may also follow the user name: spartan alice -server host:port.
	user := fs.Arg(0)
	if fs.NArg() > 1 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return exitUsage
		}
		if fs.NArg() > 0 {
			fs.Usage()
			return exitUsage
		}
	}
	if user == "" {
		fs.Usage()
		return exitUsage
	}

	*server = withDefaultPort(*server)
	var opts []spartan.Option
	if *useTLS || *caFile != "" {
		tlsConfig, err := clientTLS(*caFile)
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "[Spartan] %v.\n", err)
			return exitUsage
		}
		opts = append(opts, spartan.WithTLS(tlsConfig))
	}
	// Whether the user exists, before their key directory is made.
	listCtx, cancel := context.WithTimeout(ctx, callTimeout)
	users, err := spartan.New(*server, user, opts...).ListUsers(listCtx)
	cancel()
	switch {
	case err != nil:
		return loginFailed(*server, err, stderr)
	case !slices.Contains(users, user):
		_, _ = fmt.Fprintf(stderr, "[Spartan] There is no user named %q. Users: %s\n", user, joinNames(users))
		return exitUsage
	}
	ks, err := openKeys(*keyDir, *server, user)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "[Spartan] Cannot use your encryption keys: %v.\n", err)
		return exitKeys
	}
	client := spartan.New(*server, user, append(opts, spartan.WithSigner(ks.Signer()))...)
	loginCtx, cancel := context.WithTimeout(ctx, callTimeout)
	login, err := client.Login(loginCtx)
	cancel()
	if err != nil {
		return loginFailed(*server, err, stderr)
	}
	term, err := newTerminal(stdin, stdout)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "[Spartan] %v\n", err)
		return exitUsage
	}
	defer term.Close()
	term.Println(fmt.Sprintf("[Spartan] Connected to Spartan Server at port %s.", port(client.Addr())))
	a := newApp(client, term, login, ks)
	return a.run(ctx, login.GetChatRequests(), *giveUp)
}

// clientTLS is the TLS configuration of -tls: the system's roots, or those
// of caFile.
func clientTLS(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("Cannot read the -ca file %s: %w", caFile, err) //nolint:staticcheck // a sentence of its own on the screen
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("The -ca file %s holds no PEM certificate", caFile) //nolint:staticcheck // a sentence of its own on the screen
	}
	return cfg, nil
}

// openKeys opens the key directory: dir, or the default one of user on the
// first server of the list.
func openKeys(dir, servers, user string) (*keystore.Store, error) {
	if dir == "" {
		first, _, _ := strings.Cut(servers, ",")
		var err error
		if dir, err = keystore.DefaultDir(strings.TrimSpace(first), user); err != nil {
			return nil, err
		}
	}
	ks, _, err := keystore.Open(dir, user)
	return ks, err
}

// loginFailed tells why logging in failed and returns the exit status.
func loginFailed(server string, err error, stderr io.Writer) int {
	switch connect.CodeOf(err) {
	case connect.CodeNotFound, connect.CodeInvalidArgument, connect.CodePermissionDenied, connect.CodeUnauthenticated:
		_, _ = fmt.Fprintf(stderr, "[Spartan] Cannot log in: %s.\n", errMessage(err))
		return exitUsage
	default:
		hint := "Is the server running?"
		if tlsFailed(err) {
			hint = "Is it a TLS server whose certificate you trust (-ca FILE)?"
		}
		_, _ = fmt.Fprintf(stderr, "[Spartan] Cannot connect to Spartan Server at %s: %s. %s\n", server, errMessage(err), hint)
		return exitServer
	}
}

// defaultPort is the port of a -server given without one, as the brief's.
const defaultPort = "3000"

// withDefaultPort adds the brief's port to each host of a comma-separated
// list given without one.
func withDefaultPort(list string) string {
	addrs := strings.Split(list, ",")
	for i, a := range addrs {
		addrs[i] = withPort(strings.TrimSpace(a))
	}
	return strings.Join(addrs, ",")
}

// withPort adds the brief's port to a host given without one.
func withPort(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return net.JoinHostPort(strings.Trim(addr, "[]"), defaultPort)
	}
	return addr
}

// port is the port part of a server address (host:port or a URL), for the
// brief's connect line.
func port(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		if u.Port() != "" {
			return u.Port()
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return p
	}
	return addr
}

// tlsFailed says whether a call failed in the TLS handshake (a certificate
// not trusted, a server that does not speak TLS) rather than finding no server.
func tlsFailed(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		record   tls.RecordHeaderError
		verify   *tls.CertificateVerificationError
	)
	return errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname) ||
		errors.As(err, &record) || errors.As(err, &verify)
}

// errMessage is the human part of an RPC error.
func errMessage(err error) string {
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		if cerr.Code() == connect.CodeUnavailable {
			if tlsFailed(err) {
				return "the TLS handshake failed (" + cerr.Message() + ")"
			}
			return "the server is unreachable (" + cerr.Message() + ")"
		}
		return cerr.Message()
	}
	return err.Error()
}
