package tracker

import "strings"

// clientFilter is the optional allow-list of BitTorrent clients, by peer_id
// prefix ("-qB", "-TR", "A2-"): the Azureus-style prefix "-XX" is a client
// and its version follows, a Shadow-style prefix ("A2-") starts with the
// client's letters. Empty allows every client.
type clientFilter []string

// check refuses a peer_id that matches no allowed prefix, naming its client.
// An allowed client costs a few string comparisons and no allocation.
func (f clientFilter) check(id *[20]byte) error {
	if len(f) == 0 {
		return nil
	}
	for _, prefix := range f {
		if len(prefix) <= len(id) && string(id[:len(prefix)]) == prefix {
			return nil
		}
	}
	return ClientError(clientNotAllowed + describeClient(id))
}

// clientNotAllowed starts the failure reason of a refused client.
const clientNotAllowed = "client not allowed on this tracker: "

// knownClients names the Azureus-style client codes students meet most.
var knownClients = map[string]string{
	"-qB": "qBittorrent", "-TR": "Transmission", "-lt": "rTorrent", "-LT": "libtorrent",
	"-DE": "Deluge", "-UT": "µTorrent", "-UM": "µTorrent for Mac", "-BT": "BitTorrent",
	"-AZ": "Vuze", "-BI": "BiglyBT", "-BC": "BitComet", "-XL": "Xunlei", "-SD": "Thunder",
	"-FD": "Free Download Manager", "-KT": "KTorrent", "-WW": "WebTorrent",
	"-PI": "PicoTorrent", "-TL": "Tribler", "-FL": "Folx", "A2-": "aria2", "-AG": "Ares",
}

// describeClient names the client of a peer_id as a person can read it:
// "Xunlei (-XL0012-)", or just its printable prefix when unknown.
func describeClient(id *[20]byte) string {
	prefix := printablePrefix(id[:8])
	if name, ok := knownClients[string(id[:3])]; ok {
		return name + " (" + prefix + ")"
	}
	return "unknown client " + prefix
}

// printablePrefix returns b with anything but printable ASCII as '?'.
func printablePrefix(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		s.WriteByte(c)
	}
	return s.String()
}
