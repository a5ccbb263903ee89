package catalog

import (
	"context"
	"fmt"
	"time"
)

// sessionRow is the sessions table. The browser holds the random session id;
// the table holds only its SHA-256.
type sessionRow struct {
	TokenHash string `gorm:"primaryKey"`
	UserID    uint64
	CreatedAt time.Time
	ExpiresAt time.Time
}

func (sessionRow) TableName() string { return "sessions" }

// CreateSession starts a login session for the user that expires after ttl
// and returns its id (43 base64url characters) for the session cookie.
func (c *Catalog) CreateSession(ctx context.Context, userID uint64, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("create session: %w", invalid("ttl", "must be positive"))
	}
	token, err := newSecret()
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	t := now()
	row := sessionRow{TokenHash: hashSecret(token), UserID: userID, CreatedAt: t, ExpiresAt: t.Add(ttl)}
	if err := c.write(ctx).Create(&row).Error; err != nil {
		return "", dbErr(fmt.Sprintf("create session for user %d", userID), err)
	}
	return token, nil
}

// SessionUser returns the user of a live session. Unknown and expired
// sessions and sessions of disabled users give ErrNotFound.
func (c *Catalog) SessionUser(ctx context.Context, token string) (*User, error) {
	if token == "" {
		return nil, fmt.Errorf("session user: %w", ErrNotFound)
	}
	var row userRow
	err := c.read(ctx).
		Joins("JOIN sessions ON sessions.user_id = users.id").
		Where("sessions.token_hash = ? AND sessions.expires_at > ? AND users.disabled = ?", hashSecret(token), now(), false).
		Take(&row).Error
	if err != nil {
		return nil, dbErr("session user", err)
	}
	return row.user(), nil
}

// DeleteSession ends a session (logout). Deleting an unknown or expired
// session is not an error.
func (c *Catalog) DeleteSession(ctx context.Context, token string) error {
	err := c.write(ctx).Where("token_hash = ?", hashSecret(token)).Delete(&sessionRow{}).Error
	return dbErr("delete session", err)
}

// DeleteUserSessions ends every session of the user (e.g. after a password
// change) and returns how many there were.
func (c *Catalog) DeleteUserSessions(ctx context.Context, userID uint64) (int64, error) {
	res := c.write(ctx).Where("user_id = ?", userID).Delete(&sessionRow{})
	return res.RowsAffected, dbErr(fmt.Sprintf("delete sessions of user %d", userID), res.Error)
}

// DeleteExpiredSessions removes expired sessions and returns how many. Run it
// now and then; lookups ignore expired sessions anyway.
func (c *Catalog) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res := c.write(ctx).Where("expires_at <= ?", now()).Delete(&sessionRow{})
	return res.RowsAffected, dbErr("delete expired sessions", res.Error)
}
