package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"gorm.io/gorm"
)

// InvitePrefix starts every invitation code.
const InvitePrefix = "inv_"

// ErrBadInvite is returned by Register for an unknown or used invitation.
var ErrBadInvite = errors.New("unknown or already used invitation code")

// Invite is an unused invitation code (the code itself is shown once, by
// CreateInvite).
type Invite struct {
	ID        uint64
	CreatedBy uint64
	CreatedAt time.Time
}

type inviteRow struct {
	ID        uint64 `gorm:"primaryKey"`
	CodeHash  string
	CreatedBy uint64
	CreatedAt time.Time
	UsedBy    *uint64
	UsedAt    *time.Time
}

func (inviteRow) TableName() string { return "invites" }

// CreateInvite makes a single-use invitation code.
func (c *Catalog) CreateInvite(ctx context.Context, createdBy uint64) (string, error) {
	secret, err := newSecret()
	if err != nil {
		return "", fmt.Errorf("create invite: %w", err)
	}
	code := InvitePrefix + secret[:22]
	row := inviteRow{CodeHash: hashSecret(code), CreatedBy: createdBy, CreatedAt: now()}
	if err := c.write(ctx).Create(&row).Error; err != nil {
		return "", dbErr("create invite", err)
	}
	return code, nil
}

// Invites lists the unused invitation codes, oldest first.
func (c *Catalog) Invites(ctx context.Context) ([]Invite, error) {
	var rows []inviteRow
	if err := c.read(ctx).Where("used_by IS NULL AND used_at IS NULL").Order("id").Find(&rows).Error; err != nil {
		return nil, dbErr("invites", err)
	}
	out := make([]Invite, len(rows))
	for i, r := range rows {
		out[i] = Invite{ID: r.ID, CreatedBy: r.CreatedBy, CreatedAt: utc(r.CreatedAt)}
	}
	return out, nil
}

// Registration is a sign-up.
type Registration struct {
	Name, Email, Password string
	// Invite, if set, must be an unused code; it is used up by this
	// registration in the same transaction.
	Invite string
}

// normalizeEmail validates an address ("" is allowed: no email) and
// lowercases it.
func normalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email, "@") {
		return "", invalid("email", "is not a valid address")
	}
	return strings.ToLower(email), nil
}

// Register creates a user account (role user) from a sign-up, using up its
// invitation code if it has one. A taken name or email gives ErrConflict, a
// bad code ErrBadInvite; then nothing is stored.
func (c *Catalog) Register(ctx context.Context, r Registration) (*User, error) {
	if err := validateUserName(r.Name); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if err := validatePassword(r.Password); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	email, err := normalizeEmail(r.Email)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	hash, err := hashPassword(r.Password)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	passkey, err := randomHex(16)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	t := now()
	row := userRow{Name: r.Name, PasswordHash: hash, Role: string(RoleUser), Passkey: passkey, CreatedAt: t, UpdatedAt: t}
	if email != "" {
		row.Email = &email
	}
	err = c.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if r.Invite == "" {
			return nil
		}
		res := tx.Model(&inviteRow{}).Where("code_hash = ? AND used_by IS NULL AND used_at IS NULL", hashSecret(strings.TrimSpace(r.Invite))).
			Updates(map[string]any{"used_by": row.ID, "used_at": t})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrBadInvite
		}
		return nil
	})
	if errors.Is(err, ErrBadInvite) {
		return nil, fmt.Errorf("register: %w", ErrBadInvite)
	}
	if err != nil {
		return nil, dbErr(fmt.Sprintf("register %q", r.Name), err)
	}
	return row.user(), nil
}

// UserEmail returns the user's email address ("" if none).
func (c *Catalog) UserEmail(ctx context.Context, userID uint64) (string, error) {
	var row userRow
	if err := c.read(ctx).Select("id", "email").Where("id = ?", userID).Take(&row).Error; err != nil {
		return "", dbErr(fmt.Sprintf("email of user %d", userID), err)
	}
	if row.Email == nil {
		return "", nil
	}
	return *row.Email, nil
}
