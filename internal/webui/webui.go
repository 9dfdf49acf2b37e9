// Package webui serves the browser client (clients/web) on the server's
// public port: GET / is the single-page chat, and its assets sit beside it.
// The page then calls the Connect handlers on the same origin, so it needs
// no CORS.
package webui

import (
	"io/fs"
	"net/http"
	"strings"

	web "github.com/spartan-messenger/spartan/clients/web"
)

// Pattern is the ServeMux pattern of the page and its assets: every path no
// more specific pattern takes (the RPCs have theirs, /spartan.v1.ChatService/
// and the like). It names no method, so that it cannot conflict with the
// RPCs' method-less patterns; Handler answers only GET and HEAD.
const Pattern = "/"

// Handler serves the embedded page and its assets to GET and HEAD; other
// paths and other methods are 404.
func Handler() http.Handler {
	dist, err := fs.Sub(web.Dist, "dist")
	if err != nil {
		panic("webui: the embedded page has no dist directory: " + err.Error()) // fixed at build time
	}
	files := http.FileServerFS(dist)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// 404, as before the page existed: a call of an RPC this server
			// does not have (a POST to a path no handler takes) must stay
			// Unimplemented for gRPC and Connect clients, which read 405 as
			// Unknown.
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Only this origin's script, style and calls: a message can never run code.
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		// index.html names the assets without a version: revalidate each load.
		h.Set("Cache-Control", "no-cache")
		if strings.HasSuffix(r.URL.Path, "/index.html") {
			// FileServer redirects /index.html to /; serve / directly.
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
