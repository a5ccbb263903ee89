package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// checkRedisURL validates tracker.redis_url (empty: the in-memory store):
// redis://[user:password@]host[:port][/db], rediss:// for TLS, or
// unix:///path/to/redis.sock[?db=N], the forms the Redis store accepts.
func checkRedisURL(raw string) error {
	if raw == "" {
		return nil
	}
	bad := func(why string) error {
		return fmt.Errorf("tracker.redis_url %q %s: use redis://host:6379/0, rediss://host:6380/0 (TLS) or unix:///path/to/redis.sock, or leave it empty for in-memory swarms", redact(raw), why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a URL")
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Hostname() == "" {
			return bad("has no host")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return bad("has an invalid port")
			}
		}
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				return bad("names database " + strconv.Quote(db) + ", which is not a number")
			}
		}
	case "unix":
		if u.Path == "" {
			return bad("has no socket path")
		}
	default:
		return bad("has scheme " + strconv.Quote(u.Scheme))
	}
	if _, _, err := net.SplitHostPort(u.Host); u.Scheme != "unix" && u.Port() != "" && err != nil {
		return bad("has an invalid host")
	}
	return nil
}

// redact hides a password in a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
