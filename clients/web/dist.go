// Package web holds the browser client's built page (dist/: index.html,
// app.js, app.css), made by `make web` from src/ and checked in, so that the
// server embeds it (internal/webui) and `make run` needs only Go.
package web

import "embed"

// Dist is dist/ as built: the single-page chat.
//
//go:embed dist
var Dist embed.FS
