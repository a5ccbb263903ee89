package portal

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// loginLimiter counts failed sign-ins per client address and per user name
// in a sliding window, in memory (each node limits on its own). A blocked
// key is refused before any password hashing, so guessing costs the server
// nothing.
type loginLimiter struct {
	mu      sync.Mutex
	window  time.Duration
	perIP   int
	perName int
	fails   map[string][]time.Time
	now     func() time.Time
	swept   time.Time
}

func newLoginLimiter(window time.Duration, perIP, perName int) *loginLimiter {
	return &loginLimiter{window: window, perIP: perIP, perName: perName,
		fails: map[string][]time.Time{}, now: time.Now}
}

func ipKey(ip string) string     { return "ip:" + ip }
func nameKey(name string) string { return "name:" + strings.ToLower(name) }

// recent drops failures older than the window and returns the rest.
func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return ts
}

// Blocked tells whether a sign-in from ip as name must be refused now, and
// how long until it may be tried again.
func (l *loginLimiter) Blocked(ip, name string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range []struct {
		key   string
		limit int
	}{{ipKey(ip), l.perIP}, {nameKey(name), l.perName}} {
		ts := l.recent(k.key, now)
		if len(ts) >= k.limit {
			wait = max(wait, l.window-now.Sub(ts[len(ts)-k.limit]))
		}
	}
	return wait, wait > 0
}

// Fail records a failed sign-in.
func (l *loginLimiter) Fail(ip, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.fails[ipKey(ip)] = append(l.fails[ipKey(ip)], now)
	l.fails[nameKey(name)] = append(l.fails[nameKey(name)], now)
	if now.Sub(l.swept) > l.window {
		for k := range l.fails {
			l.recent(k, now)
		}
		l.swept = now
	}
}

// Succeed forgets the failures of a name after a good sign-in.
func (l *loginLimiter) Succeed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, nameKey(name))
}

// waitMessage is the sign-in page's explanation of a block.
func waitMessage(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	unit := "minutes"
	if m == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("Too many failed sign-in attempts. Wait %d %s and try again.", m, unit)
}
