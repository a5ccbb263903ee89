package ingest

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/anacrolix/torrent/metainfo"
)

// ErrBadName is wrapped by every error about an unacceptable file or torrent
// name, so callers can answer it as a client error.
var ErrBadName = errors.New("bad file name")

// Limits on uploaded names. They match common filesystem limits (NAME_MAX and
// PATH_MAX on Linux) and bound the depth of a torrent's directory tree.
const (
	MaxComponentBytes = 255
	MaxComponents     = 32
	MaxPathBytes      = 4096
)

// SanitizePath turns an uploaded file name into safe path components relative
// to the torrent root.
//
// Both '/' and '\\' separate components. Empty components ("a//b", a trailing
// separator) are dropped and a leading "./" is stripped. Everything else that
// could be dangerous is refused with an error wrapping ErrBadName, never
// rewritten: an empty name, "." or ".." components, absolute paths (a leading
// separator or a drive letter like "C:"), invalid UTF-8, control characters
// (including NUL), a component longer than MaxComponentBytes, more than
// MaxComponents components, or a joined path longer than MaxPathBytes. Raw
// names longer than 2*MaxPathBytes are refused before any cleaning.
func SanitizePath(name string) ([]string, error) {
	if len(name) > 2*MaxPathBytes {
		return nil, badName(name, "name too long")
	}
	if err := checkText(name); err != nil {
		return nil, badName(name, err.Error())
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) {
		return nil, badName(name, "absolute path")
	}
	comps := strings.FieldsFunc(name, isSeparator)
	for len(comps) > 0 && comps[0] == "." {
		comps = comps[1:]
	}
	if len(comps) == 0 {
		return nil, badName(name, "empty name")
	}
	if isDriveLetter(comps[0]) {
		return nil, badName(name, "drive letter")
	}
	if len(comps) > MaxComponents {
		return nil, badName(name, fmt.Sprintf("more than %d path components", MaxComponents))
	}
	total := len(comps) - 1
	for _, c := range comps {
		if err := checkComponent(c); err != nil {
			return nil, badName(name, err.Error())
		}
		total += len(c)
	}
	if total > MaxPathBytes {
		return nil, badName(name, fmt.Sprintf("path longer than %d bytes", MaxPathBytes))
	}
	return comps, nil
}

// checkText refuses invalid UTF-8 and control characters.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("invalid utf-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// checkComponent refuses a component that is not a plain name. It does not
// check the characters (see checkText).
func checkComponent(c string) error {
	switch {
	case c == "":
		return errors.New("empty path component")
	case c == "." || c == "..":
		return fmt.Errorf("%q path component", c)
	case strings.ContainsAny(c, `/\`):
		return errors.New("separator in path component")
	case len(c) > MaxComponentBytes:
		return fmt.Errorf("path component longer than %d bytes", MaxComponentBytes)
	}
	return nil
}

// sanitizeComponent checks a name that must be one path component, such as
// a torrent name.
func sanitizeComponent(name string) (string, error) {
	comps, err := SanitizePath(name)
	if err != nil {
		return "", err
	}
	if len(comps) != 1 || comps[0] != name {
		return "", badName(name, "must be a single path component")
	}
	return name, nil
}

// checkTorrentName refuses a torrent name that is not one plain path
// component, or that is metainfo.NoName ("-"), which anacrolix's file storage
// reads as "no root folder".
func checkTorrentName(name string) error {
	if _, err := sanitizeComponent(name); err != nil {
		return err
	}
	if name == metainfo.NoName {
		return badName(name, "reserved torrent name")
	}
	return nil
}

func isSeparator(r rune) bool { return r == '/' || r == '\\' }

func isDriveLetter(c string) bool {
	return len(c) >= 2 && c[1] == ':' &&
		('a' <= c[0] && c[0] <= 'z' || 'A' <= c[0] && c[0] <= 'Z')
}

func badName(name, reason string) error {
	const maxShown = 80
	if len(name) > maxShown {
		name = strings.ToValidUTF8(name[:maxShown], "") + "..."
	}
	return fmt.Errorf("%w %q: %s", ErrBadName, name, reason)
}
