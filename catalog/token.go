package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// TokenPrefix starts every API token, so a leaked one is easy to recognize.
const TokenPrefix = "sbt_"

// Token describes an API token; the secret itself is shown only once, by
// CreateToken.
type Token struct {
	ID        uint64
	UserID    uint64
	Label     string
	CreatedAt time.Time
}

// tokenRow is the api_tokens table.
type tokenRow struct {
	ID        uint64 `gorm:"primaryKey"`
	UserID    uint64
	Label     string
	TokenHash string
	CreatedAt time.Time
	RevokedAt *time.Time
}

func (tokenRow) TableName() string { return "api_tokens" }

// newSecret returns 32 random bytes as unpadded base64url (43 characters).
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashSecret is how tokens and session ids are stored: SHA-256, hex. They are
// random 256-bit values, so a fast hash is enough.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken creates an API token for the user and returns it
// ("sbt_" + 43 base64url characters). Only its SHA-256 is stored.
func (c *Catalog) CreateToken(ctx context.Context, userID uint64, label string) (string, error) {
	label = strings.TrimSpace(label)
	if utf8.RuneCountInString(label) > 64 {
		return "", fmt.Errorf("create token: %w", invalid("label", "must be at most 64 characters"))
	}
	secret, err := newSecret()
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	token := TokenPrefix + secret
	row := tokenRow{UserID: userID, Label: label, TokenHash: hashSecret(token), CreatedAt: now()}
	if err := c.write(ctx).Create(&row).Error; err != nil {
		return "", dbErr(fmt.Sprintf("create token for user %d", userID), err)
	}
	return token, nil
}

// UserByToken returns the owner of an API token. Unknown or revoked tokens
// and tokens of disabled users give ErrNotFound.
func (c *Catalog) UserByToken(ctx context.Context, token string) (*User, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return nil, fmt.Errorf("user by token: %w", ErrNotFound)
	}
	var row userRow
	err := c.read(ctx).
		Joins("JOIN api_tokens ON api_tokens.user_id = users.id").
		Where("api_tokens.token_hash = ? AND api_tokens.revoked_at IS NULL AND users.disabled = ?", hashSecret(token), false).
		Take(&row).Error
	if err != nil {
		return nil, dbErr("user by token", err)
	}
	return row.user(), nil
}

// Tokens lists the user's live API tokens, oldest first.
func (c *Catalog) Tokens(ctx context.Context, userID uint64) ([]Token, error) {
	var rows []tokenRow
	err := c.read(ctx).Where("user_id = ? AND revoked_at IS NULL", userID).Order("id").Find(&rows).Error
	if err != nil {
		return nil, dbErr(fmt.Sprintf("tokens of user %d", userID), err)
	}
	tokens := make([]Token, len(rows))
	for i, r := range rows {
		tokens[i] = Token{ID: r.ID, UserID: r.UserID, Label: r.Label, CreatedAt: utc(r.CreatedAt)}
	}
	return tokens, nil
}

// RevokeToken revokes one of the user's tokens; ErrNotFound if the user has
// no such live token.
func (c *Catalog) RevokeToken(ctx context.Context, userID, tokenID uint64) error {
	res := c.write(ctx).Model(&tokenRow{}).
		Where("id = ? AND user_id = ? AND revoked_at IS NULL", tokenID, userID).
		Update("revoked_at", now())
	if res.Error != nil {
		return dbErr(fmt.Sprintf("revoke token %d", tokenID), res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("revoke token %d: %w", tokenID, ErrNotFound)
	}
	return nil
}
