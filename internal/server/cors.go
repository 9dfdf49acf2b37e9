package server

import (
	"net/http"

	connectcors "connectrpc.com/cors"
	"github.com/rs/cors"
)

// corsMaxAge is how long, in seconds, a browser may reuse a preflight's
// answer: two hours, the most Chromium honours.
const corsMaxAge = 2 * 60 * 60

// withCORS lets web pages of the given origins call h from a browser, with
// Connect or gRPC-Web: it answers their CORS preflights and marks the answers
// to their calls as readable by them. With no origins it returns h unchanged:
// CORS is off and a browser lets only pages of the server's own origin call
// it. (rs/cors would read an empty list as "every origin".)
//
// The whole mux is wrapped, not the chat API alone: the port has one origin
// policy, so a web page allowed to chat may also check health or read the
// schema through reflection, which are no more secret than the proto. CORS
// does not restrict other clients in any case; it only tells browsers which
// pages may read the answers.
//
// Methods and headers are connect-go's lists for its three protocols: GET
// and POST; Content-Type, the Connect headers (Connect-Protocol-Version,
// Connect-Timeout-Ms) and the gRPC-Web ones (X-Grpc-Web, X-User-Agent,
// Grpc-Timeout), plus Authorization, which carries the session token
// (docs/SECURITY.md, "Authentication"); and the gRPC-Web status headers a
// page must be able to read (Grpc-Status, Grpc-Message,
// Grpc-Status-Details-Bin). No credentials in the CORS sense: the server
// uses no cookies, and a page sends its token itself.
func withCORS(h http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: connectcors.AllowedMethods(),
		AllowedHeaders: append(connectcors.AllowedHeaders(), "Authorization"),
		ExposedHeaders: connectcors.ExposedHeaders(),
		MaxAge:         corsMaxAge,
	}).Handler(h)
}
