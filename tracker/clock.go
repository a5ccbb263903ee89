package tracker

import (
	"sync/atomic"
	"time"
)

// clock is a cached wall clock in whole Unix seconds, the unit peers and
// accounting baselines are stamped with. Reading it is one atomic load;
// Tracker.Serve advances it every second.
type clock struct{ sec atomic.Uint32 }

func (c *clock) now() uint32 { return c.sec.Load() }

func (c *clock) set(t time.Time) { c.sec.Store(unixSeconds(t)) }

// unixSeconds fits t in a uint32 (good until 2106).
func unixSeconds(t time.Time) uint32 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint32(s)
}
