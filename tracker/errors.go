package tracker

// ClientError is a failure the client is told about: its text is the reply's
// "failure reason" (BEP 3). Any other error returned by the tracker's logic is
// logged and answered with a generic reason, never shown to the client.
type ClientError string

func (e ClientError) Error() string { return string(e) }

// Failure reasons. They are constants, so returning one does not allocate.
const (
	errMissingPasskey  ClientError = "missing passkey"
	errUnknownPasskey  ClientError = "unknown passkey"
	errAccountDisabled ClientError = "account disabled"
	errNotRegistered   ClientError = "torrent not registered on this tracker"
	errInvalidInfoHash ClientError = "invalid info_hash"
	errMissingInfoHash ClientError = "missing info_hash"
	errInvalidPeerID   ClientError = "invalid peer_id"
	errMissingPeerID   ClientError = "missing peer_id"
	errInvalidPort     ClientError = "invalid port"
	errMissingPort     ClientError = "missing port"
	errInvalidUploaded ClientError = "invalid uploaded"
	errMissingUploaded ClientError = "missing uploaded"
	errInvalidDownload ClientError = "invalid downloaded"
	errMissingDownload ClientError = "missing downloaded"
	errInvalidLeft     ClientError = "invalid left"
	errMissingLeft     ClientError = "missing left"
	errInvalidNumWant  ClientError = "invalid numwant"
	errInvalidEvent    ClientError = "invalid event"
	errInvalidCompact  ClientError = "invalid compact"
	errInvalidAddress  ClientError = "invalid client address"
	errTooManyInfoHash ClientError = "too many info_hash parameters"
	errInternal        ClientError = "internal tracker error"
	errInvalidNoPeerID ClientError = "invalid no_peer_id"
	errRateLimited     ClientError = "too many announces for this passkey: slow down"
)
