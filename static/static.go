// Package static embeds the portal's CSS, JavaScript and images. Files are
// served under /static/<name>?v=<content hash> with a long cache lifetime;
// browser libraries vendored from npm (with their licenses) live in vendor/.
package static

import "embed"

// FS holds the static files.
//
//go:embed *.css *.js *.svg vendor
var FS embed.FS
