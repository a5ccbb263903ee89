package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Role is a user's permission level.
type Role string

// Roles, from least to most privileged.
const (
	RoleUser      Role = "user"
	RoleModerator Role = "moderator"
	RoleAdmin     Role = "admin"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r == RoleUser || r == RoleModerator || r == RoleAdmin }

// User is an account. Passkey (32 lowercase hex characters) goes into the
// user's announce URLs. Seedbox marks the system user the seedbox announces
// as; its traffic never counts toward anyone.
type User struct {
	ID                   uint64
	Name                 string
	Role                 Role
	Passkey              string
	Disabled             bool
	Seedbox              bool
	Uploaded, Downloaded int64
	CreatedAt, UpdatedAt time.Time
}

// userRow is the users table.
type userRow struct {
	ID           uint64 `gorm:"primaryKey"`
	Name         string
	Email        *string
	PasswordHash string
	Role         string
	Passkey      string
	Disabled     bool
	Seedbox      bool
	Uploaded     int64
	Downloaded   int64
	QuotaBytes   *int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

func (r *userRow) user() *User {
	return &User{
		ID: r.ID, Name: r.Name, Role: Role(r.Role), Passkey: r.Passkey,
		Disabled: r.Disabled, Seedbox: r.Seedbox, Uploaded: r.Uploaded, Downloaded: r.Downloaded,
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
	}
}

// validateUserName checks the 2-32 characters of [a-zA-Z0-9_.-] rule. Names
// are unique regardless of case.
func validateUserName(name string) error {
	if len(name) < 2 || len(name) > 32 {
		return invalid("name", "must be 2-32 characters long")
	}
	for _, ch := range name {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.' || ch == '-') {
			return invalid("name", "may contain only letters, digits, '_', '.' and '-'")
		}
	}
	return nil
}

// CreateUser adds an account with an argon2id password hash and a random
// passkey. A name taken in any letter case gives ErrConflict; bad input gives
// a *ValidationError (ErrInvalid).
func (c *Catalog) CreateUser(ctx context.Context, name, password string, role Role) (*User, error) {
	if err := validateUserName(name); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	if err := validatePassword(password); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	if !role.Valid() {
		return nil, fmt.Errorf("create user: %w", invalid("role", fmt.Sprintf("%q is not user, moderator or admin", role)))
	}
	hash, err := hashPassword(password)
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return c.insertUser(ctx, name, hash, role, false)
}

func (c *Catalog) insertUser(ctx context.Context, name, hash string, role Role, seedbox bool) (*User, error) {
	passkey, err := randomHex(16)
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	t := now()
	row := userRow{Name: name, PasswordHash: hash, Role: string(role), Passkey: passkey,
		Seedbox: seedbox, CreatedAt: t, UpdatedAt: t}
	if err := c.write(ctx).Create(&row).Error; err != nil {
		return nil, dbErr(fmt.Sprintf("create user %q", name), err)
	}
	return row.user(), nil
}

// Authenticate checks a name and password. Unknown users, wrong passwords and
// disabled accounts all give ErrBadCredentials after the same amount of
// hashing work.
func (c *Catalog) Authenticate(ctx context.Context, name, password string) (*User, error) {
	var row userRow
	err := c.read(ctx).Where("lower(name) = lower(?)", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		dummyVerify(password)
		return nil, fmt.Errorf("authenticate: %w", ErrBadCredentials)
	}
	if err != nil {
		return nil, dbErr("authenticate", err)
	}
	if len(password) > maxPasswordLen {
		dummyVerify(password[:maxPasswordLen])
		return nil, fmt.Errorf("authenticate: %w", ErrBadCredentials)
	}
	if !verifyPassword(row.PasswordHash, password) || row.Disabled {
		return nil, fmt.Errorf("authenticate: %w", ErrBadCredentials)
	}
	return row.user(), nil
}

// UserByID returns the user with the given id, or ErrNotFound.
func (c *Catalog) UserByID(ctx context.Context, id uint64) (*User, error) {
	var row userRow
	if err := c.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, dbErr(fmt.Sprintf("user %d", id), err)
	}
	return row.user(), nil
}

// UserByName returns the user with the given name (any letter case), or
// ErrNotFound.
func (c *Catalog) UserByName(ctx context.Context, name string) (*User, error) {
	var row userRow
	if err := c.read(ctx).Where("lower(name) = lower(?)", name).Take(&row).Error; err != nil {
		return nil, dbErr(fmt.Sprintf("user %q", name), err)
	}
	return row.user(), nil
}

// CountUsers returns the number of accounts, system users included.
func (c *Catalog) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := c.read(ctx).Model(&userRow{}).Count(&n).Error; err != nil {
		return 0, dbErr("count users", err)
	}
	return n, nil
}

// CountPeople counts the accounts of people: every user except the seedbox
// system accounts.
func (c *Catalog) CountPeople(ctx context.Context) (int64, error) {
	var n int64
	if err := c.read(ctx).Model(&userRow{}).Where("seedbox = ?", false).Count(&n).Error; err != nil {
		return 0, dbErr("count people", err)
	}
	return n, nil
}

// RotatePasskey gives the user a new random passkey and returns it. The old
// one is recorded in revoked_passkeys so TrackerChanges reports it as revoked.
func (c *Catalog) RotatePasskey(ctx context.Context, userID uint64) (string, error) {
	passkey, err := randomHex(16)
	if err != nil {
		return "", fmt.Errorf("rotate passkey: %w", err)
	}
	op := fmt.Sprintf("rotate passkey of user %d", userID)
	err = c.tx(ctx, func(tx *gorm.DB) error {
		var row userRow
		if err := tx.Select("id", "passkey").Where("id = ?", userID).Take(&row).Error; err != nil {
			return err
		}
		t := now()
		if err := tx.Exec("INSERT INTO revoked_passkeys (passkey, user_id, revoked_at) VALUES (?, ?, ?)",
			row.Passkey, userID, t).Error; err != nil {
			return err
		}
		return tx.Model(&userRow{}).Where("id = ?", userID).
			Updates(map[string]any{"passkey": passkey, "updated_at": t}).Error
	})
	if err != nil {
		return "", dbErr(op, err)
	}
	return passkey, nil
}

// SetDisabled disables or re-enables an account. A disabled user cannot log
// in, their sessions and tokens stop working and the tracker refuses their
// passkey.
func (c *Catalog) SetDisabled(ctx context.Context, userID uint64, disabled bool) error {
	return c.updateUser(ctx, fmt.Sprintf("set disabled of user %d", userID), userID,
		map[string]any{"disabled": disabled})
}

// SetRole changes a user's role.
func (c *Catalog) SetRole(ctx context.Context, userID uint64, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("set role: %w", invalid("role", fmt.Sprintf("%q is not user, moderator or admin", role)))
	}
	return c.updateUser(ctx, fmt.Sprintf("set role of user %d", userID), userID,
		map[string]any{"role": string(role)})
}

// SetPassword replaces a user's password.
func (c *Catalog) SetPassword(ctx context.Context, userID uint64, password string) error {
	if err := validatePassword(password); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return c.updateUser(ctx, fmt.Sprintf("set password of user %d", userID), userID,
		map[string]any{"password_hash": hash})
}

// updateUser sets columns and updated_at; ErrNotFound if there is no such user.
func (c *Catalog) updateUser(ctx context.Context, op string, userID uint64, cols map[string]any) error {
	cols["updated_at"] = now()
	res := c.write(ctx).Model(&userRow{}).Where("id = ?", userID).Updates(cols)
	if res.Error != nil {
		return dbErr(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

// EnsureSeedboxUser returns the system user named name, flagged Seedbox,
// creating it with an unusable password if it does not exist. If a regular
// account already has that name it returns ErrConflict rather than turning a
// person's account into the seedbox.
func (c *Catalog) EnsureSeedboxUser(ctx context.Context, name string) (*User, error) {
	if err := validateUserName(name); err != nil {
		return nil, fmt.Errorf("ensure seedbox user: %w", err)
	}
	for attempt := 0; ; attempt++ {
		u, err := c.UserByName(ctx, name)
		if err == nil {
			if !u.Seedbox {
				return nil, fmt.Errorf("ensure seedbox user: %q is a regular account: %w", name, ErrConflict)
			}
			return u, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("ensure seedbox user: %w", err)
		}
		u, err = c.insertUser(ctx, name, unusablePassword, RoleUser, true)
		if errors.Is(err, ErrConflict) && attempt == 0 {
			continue // another node created it a moment ago
		}
		if err != nil {
			return nil, fmt.Errorf("ensure seedbox user: %w", err)
		}
		c.log.InfoContext(ctx, "created seedbox user", "name", name, "id", u.ID)
		return u, nil
	}
}
