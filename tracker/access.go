package tracker

import "sync"

// User is what the tracker knows about the owner of a passkey.
type User struct {
	ID uint64
	// Seedbox marks Seedbed's own seeding client: its traffic is never
	// credited and it gets a short interval while its swarm has leechers.
	Seedbox  bool
	Disabled bool
}

// Access holds the passkeys and the infohash allow-list in memory, so that no
// announce touches the database. The node loads it at start and keeps it
// fresh from the catalog. It is safe for concurrent use; lookups take a read
// lock and do not allocate.
type Access struct {
	mu       sync.RWMutex
	users    map[string]User
	torrents map[[20]byte]uint64
}

// NewAccess returns an empty Access: every passkey is unknown and every
// infohash unregistered.
func NewAccess() *Access {
	return &Access{
		users:    make(map[string]User),
		torrents: make(map[[20]byte]uint64),
	}
}

// PutUser adds the passkey or replaces what it maps to.
func (a *Access) PutUser(passkey string, u User) {
	a.mu.Lock()
	a.users[passkey] = u
	a.mu.Unlock()
}

// RemovePasskey forgets the passkey; announces with it fail from now on.
func (a *Access) RemovePasskey(passkey string) {
	a.mu.Lock()
	delete(a.users, passkey)
	a.mu.Unlock()
}

// Allow registers the infohash as the torrent with the given catalog ID.
func (a *Access) Allow(ih [20]byte, torrentID uint64) {
	a.mu.Lock()
	a.torrents[ih] = torrentID
	a.mu.Unlock()
}

// Disallow removes the infohash from the allow-list.
func (a *Access) Disallow(ih [20]byte) {
	a.mu.Lock()
	delete(a.torrents, ih)
	a.mu.Unlock()
}

// Counts reports how many passkeys and torrents are known.
func (a *Access) Counts() (users, torrents int) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.users), len(a.torrents)
}

// User returns the user of a passkey.
func (a *Access) User(passkey string) (User, bool) {
	a.mu.RLock()
	u, ok := a.users[passkey]
	a.mu.RUnlock()
	return u, ok
}

// Torrent returns the catalog ID of an allowed infohash.
func (a *Access) Torrent(ih [20]byte) (torrentID uint64, ok bool) {
	a.mu.RLock()
	id, ok := a.torrents[ih]
	a.mu.RUnlock()
	return id, ok
}

// authorize maps a passkey to its user, or to the failure the client sees.
func (a *Access) authorize(passkey string) (User, error) {
	if passkey == "" {
		return User{}, errMissingPasskey
	}
	u, ok := a.User(passkey)
	switch {
	case !ok:
		return User{}, errUnknownPasskey
	case u.Disabled:
		return User{}, errAccountDisabled
	}
	return u, nil
}
