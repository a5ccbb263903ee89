// Package templates embeds the portal's html/template files. Every page is
// parsed once at start together with layout.html; see portal.NewRenderer.
package templates

import "embed"

// FS holds layout.html and one file per page.
//
//go:embed *.html
var FS embed.FS
