package tracker

import "net/netip"

// announceSeen records which required parameters an announce carried.
type announceSeen struct {
	infoHash, peerID, port, uploaded, downloaded, left bool
}

// parseAnnounce fills req from the raw query of an HTTP announce (BEP 3).
// Binary info_hash and peer_id are percent-decoded straight into req; it
// does not allocate. Unknown parameters are ignored; of a repeated one, the
// last counts.
func parseAnnounce(raw string, req *AnnounceRequest) error {
	req.NumWant = -1
	req.Compact = true
	var seen announceSeen
	var keyBuf [16]byte
	q := queryIter{rest: raw}
	for {
		key, value, ok := q.next()
		if !ok {
			break
		}
		if err := parseAnnounceParam(req, &seen, decodeKey(key, &keyBuf), value); err != nil {
			return err
		}
	}
	return seen.missing()
}

func parseAnnounceParam(req *AnnounceRequest, seen *announceSeen, key, value string) error {
	switch key {
	case "info_hash":
		seen.infoHash = true
		return check(decodeHash(&req.InfoHash, value), errInvalidInfoHash)
	case "peer_id":
		seen.peerID = true
		return check(decodeHash(&req.PeerID, value), errInvalidPeerID)
	case "port":
		seen.port = true
		return parsePort(&req.Port, value)
	case "uploaded":
		seen.uploaded = true
		return parseCounter(&req.Uploaded, value, errInvalidUploaded)
	case "downloaded":
		seen.downloaded = true
		return parseCounter(&req.Downloaded, value, errInvalidDownload)
	case "left":
		seen.left = true
		return parseCounter(&req.Left, value, errInvalidLeft)
	case "numwant":
		return parseNumWant(&req.NumWant, value)
	case "event":
		return parseEvent(&req.Event, value)
	case "compact":
		return parseFlag(&req.Compact, value, errInvalidCompact)
	case "no_peer_id":
		return parseFlag(&req.NoPeerID, value, errInvalidNoPeerID)
	case "ip":
		req.ClaimedIP = parseClaim(value)
	case "ipv4":
		req.ClaimedIPv4 = parseClaim(value)
	case "ipv6":
		req.ClaimedIPv6 = parseClaim(value)
	}
	return nil
}

func (s *announceSeen) missing() error {
	switch {
	case !s.infoHash:
		return errMissingInfoHash
	case !s.peerID:
		return errMissingPeerID
	case !s.port:
		return errMissingPort
	case !s.uploaded:
		return errMissingUploaded
	case !s.downloaded:
		return errMissingDownload
	case !s.left:
		return errMissingLeft
	}
	return nil
}

func check(ok bool, err error) error {
	if !ok {
		return err
	}
	return nil
}

func parsePort(dst *uint16, value string) error {
	v, ok := decodeInt(value)
	if !ok || v < 0 || v > 65535 {
		return errInvalidPort
	}
	*dst = uint16(v)
	return nil
}

// parseCounter parses uploaded, downloaded or left: a non-negative integer.
func parseCounter(dst *int64, value string, err error) error {
	v, ok := decodeInt(value)
	if !ok || v < 0 {
		return err
	}
	*dst = v
	return nil
}

// parseNumWant parses numwant; a negative value means the default.
func parseNumWant(dst *int, value string) error {
	v, ok := decodeInt(value)
	if !ok {
		return errInvalidNumWant
	}
	*dst = int(max(v, -1))
	return nil
}

// parseFlag parses compact or no_peer_id: an integer, non-zero for true.
func parseFlag(dst *bool, value string, err error) error {
	v, ok := decodeInt(value)
	if !ok {
		return err
	}
	*dst = v != 0
	return nil
}

// parseClaim parses ip= (BEP 3), ipv4= or ipv6= (BEP 7): an address or an
// endpoint ("[2001:db8::1]:6881"). Anything else, a DNS name included, is
// the zero value: the claim is ignored, not refused. Only a percent-encoded
// value (an IPv6 address with its colons escaped) allocates.
func parseClaim(value string) netip.AddrPort {
	if escaped(value) {
		var buf [64]byte
		n, ok := unescape(buf[:], value)
		if !ok {
			return netip.AddrPort{}
		}
		value = string(buf[:n])
	}
	if ap, err := netip.ParseAddrPort(value); err == nil {
		return ap
	}
	if a, err := netip.ParseAddr(value); err == nil {
		return netip.AddrPortFrom(a, 0)
	}
	return netip.AddrPort{}
}

// parseEvent parses event. "empty" and "paused" (BEP 21) are regular
// announces.
func parseEvent(dst *Event, value string) error {
	switch value {
	case "", "empty", "paused":
		*dst = EventNone
	case "started":
		*dst = EventStarted
	case "stopped":
		*dst = EventStopped
	case "completed":
		*dst = EventCompleted
	default:
		return errInvalidEvent
	}
	return nil
}

// parseScrape fills req.InfoHashes from the raw query of an HTTP scrape
// (BEP 48): any number of info_hash parameters up to maxScrapeHashes, in
// request order. Other parameters are ignored.
func parseScrape(raw string, req *ScrapeRequest) error {
	var keyBuf [16]byte
	q := queryIter{rest: raw}
	for {
		key, value, ok := q.next()
		if !ok {
			return nil
		}
		if decodeKey(key, &keyBuf) != "info_hash" {
			continue
		}
		if len(req.InfoHashes) == maxScrapeHashes {
			return errTooManyInfoHash
		}
		var ih [20]byte
		if !decodeHash(&ih, value) {
			return errInvalidInfoHash
		}
		req.InfoHashes = append(req.InfoHashes, ih)
	}
}
