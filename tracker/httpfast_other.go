//go:build !linux

package tracker

import "net"

// deferAccept is Linux's TCP_DEFER_ACCEPT; elsewhere nothing.
func deferAccept(net.Listener) {}
