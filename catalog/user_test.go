package catalog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCreateUser(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		if _, err := c.CreateUser(ctx, "Alice", "correct horse", RoleAdmin); err != nil {
			t.Fatalf("CreateUser(Alice): %v", err)
		}
		tests := []struct {
			name, user, password string
			role                 Role
			wantErr              error
			wantField            string
		}{
			{name: "ok", user: "bob.b-ob_2", password: "12345678", role: RoleUser},
			{name: "duplicate", user: "Alice", password: "12345678", role: RoleUser, wantErr: ErrConflict},
			{name: "duplicate other case", user: "aLiCe", password: "12345678", role: RoleUser, wantErr: ErrConflict},
			{name: "name too short", user: "a", password: "12345678", role: RoleUser, wantErr: ErrInvalid, wantField: "name"},
			{name: "name too long", user: strings.Repeat("a", 33), password: "12345678", role: RoleUser, wantErr: ErrInvalid, wantField: "name"},
			{name: "name bad char", user: "al ice", password: "12345678", role: RoleUser, wantErr: ErrInvalid, wantField: "name"},
			{name: "name non-ascii", user: "älice", password: "12345678", role: RoleUser, wantErr: ErrInvalid, wantField: "name"},
			{name: "password short", user: "carol", password: "1234567", role: RoleUser, wantErr: ErrInvalid, wantField: "password"},
			{name: "password 8 runes", user: "dave", password: "ääääääää", role: RoleUser},
			{name: "bad role", user: "erin", password: "12345678", role: "root", wantErr: ErrInvalid, wantField: "role"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u, err := c.CreateUser(ctx, tt.user, tt.password, tt.role)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
					var ve *ValidationError
					if tt.wantField != "" && (!errors.As(err, &ve) || ve.Field != tt.wantField) {
						t.Fatalf("err = %v, want a ValidationError for %s", err, tt.wantField)
					}
					return
				}
				if err != nil {
					t.Fatalf("CreateUser: %v", err)
				}
				if u.ID == 0 || u.Name != tt.user || u.Role != tt.role || !isHex(u.Passkey, 32) {
					t.Fatalf("user = %+v", u)
				}
				if u.CreatedAt.Location() != time.UTC || time.Since(u.CreatedAt) > time.Minute {
					t.Fatalf("CreatedAt = %v", u.CreatedAt)
				}
				got, err := c.UserByID(ctx, u.ID)
				if err != nil || *got != *u {
					t.Fatalf("UserByID = %+v, %v; want %+v", got, err, u)
				}
			})
		}
		if n, err := c.CountUsers(ctx); err != nil || n != 3 {
			t.Fatalf("CountUsers = %d, %v; want 3", n, err)
		}
		if _, err := c.UserByName(ctx, "ALICE"); err != nil {
			t.Fatalf("UserByName(ALICE): %v", err)
		}
		if _, err := c.UserByName(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UserByName(nobody) err = %v, want ErrNotFound", err)
		}
		if _, err := c.UserByID(ctx, 987654); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UserByID(987654) err = %v, want ErrNotFound", err)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		alice, err := c.CreateUser(ctx, "alice", "correct horse", RoleUser)
		if err != nil {
			t.Fatal(err)
		}
		mallory, err := c.CreateUser(ctx, "mallory", "correct horse", RoleUser)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetDisabled(ctx, mallory.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := c.EnsureSeedboxUser(ctx, "seedbox"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, user, password string
			wantID               uint64
		}{
			{name: "ok", user: "alice", password: "correct horse", wantID: alice.ID},
			{name: "name any case", user: "ALICE", password: "correct horse", wantID: alice.ID},
			{name: "wrong password", user: "alice", password: "correct horsE"},
			{name: "empty password", user: "alice", password: ""},
			{name: "unknown user", user: "bob", password: "correct horse"},
			{name: "invalid name", user: "a b", password: "correct horse"},
			{name: "disabled", user: "mallory", password: "correct horse"},
			{name: "seedbox has no password", user: "seedbox", password: "!"},
			{name: "huge password", user: "alice", password: strings.Repeat("x", 5000)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u, err := c.Authenticate(ctx, tt.user, tt.password)
				if tt.wantID == 0 {
					if !errors.Is(err, ErrBadCredentials) || u != nil {
						t.Fatalf("Authenticate = %v, %v; want ErrBadCredentials", u, err)
					}
					return
				}
				if err != nil || u.ID != tt.wantID {
					t.Fatalf("Authenticate = %+v, %v; want user %d", u, err, tt.wantID)
				}
			})
		}
		if err := c.SetDisabled(ctx, mallory.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Authenticate(ctx, "mallory", "correct horse"); err != nil {
			t.Fatalf("Authenticate after re-enabling: %v", err)
		}
		if err := c.SetPassword(ctx, alice.ID, "battery staple"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Authenticate(ctx, "alice", "battery staple"); err != nil {
			t.Fatalf("Authenticate with new password: %v", err)
		}
		if err := c.SetDisabled(ctx, 987654, true); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetDisabled(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestEnsureSeedboxUser(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		a, err := c.EnsureSeedboxUser(ctx, "seedbox-n1")
		if err != nil || !a.Seedbox || a.Role != RoleUser {
			t.Fatalf("EnsureSeedboxUser = %+v, %v", a, err)
		}
		b, err := c.EnsureSeedboxUser(ctx, "seedbox-n1")
		if err != nil || b.ID != a.ID {
			t.Fatalf("second EnsureSeedboxUser = %+v, %v; want id %d", b, err, a.ID)
		}
		if _, err := c.CreateUser(ctx, "student", "12345678", RoleUser); err != nil {
			t.Fatal(err)
		}
		if _, err := c.EnsureSeedboxUser(ctx, "student"); !errors.Is(err, ErrConflict) {
			t.Fatalf("EnsureSeedboxUser(regular user) = %v, want ErrConflict", err)
		}
	})
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("hunter22hunter22")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %q, want the PHC argon2id format", h)
	}
	h2, _ := hashPassword("hunter22hunter22")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt?")
	}
	tests := []struct {
		name, encoded, password string
		want                    bool
	}{
		{"match", h, "hunter22hunter22", true},
		{"mismatch", h, "hunter22hunter23", false},
		{"unusable", unusablePassword, "!", false},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuu", "x", false},
		{"bad params", strings.Replace(h, "m=64", "m=0", 1), "hunter22hunter22", false},
		{"truncated", h[:len(h)-5], "hunter22hunter22", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verifyPassword(tt.encoded, tt.password); got != tt.want {
				t.Fatalf("verifyPassword = %v, want %v", got, tt.want)
			}
		})
	}
}
