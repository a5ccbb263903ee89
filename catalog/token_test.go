package catalog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		tok, err := c.CreateToken(ctx, u.ID, "laptop")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != len(TokenPrefix)+43 {
			t.Fatalf("token = %q, want sbt_ + 43 base64url characters", tok)
		}
		other, err := c.CreateToken(ctx, u.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateToken(ctx, 987654, "x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("CreateToken(unknown user) = %v, want ErrNotFound", err)
		}
		list, err := c.Tokens(ctx, u.ID)
		if err != nil || len(list) != 2 || list[0].Label != "laptop" {
			t.Fatalf("Tokens = %+v, %v", list, err)
		}
		if err := c.RevokeToken(ctx, u.ID, list[1].ID); err != nil {
			t.Fatal(err)
		}
		if err := c.RevokeToken(ctx, u.ID, list[1].ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second RevokeToken = %v, want ErrNotFound", err)
		}
		tests := []struct {
			name, token string
			wantOK      bool
		}{
			{"valid", tok, true},
			{"revoked", other, false},
			{"unknown", TokenPrefix + strings.Repeat("A", 43), false},
			{"no prefix", strings.TrimPrefix(tok, TokenPrefix), false},
			{"empty", "", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := c.UserByToken(ctx, tt.token)
				if !tt.wantOK {
					if !errors.Is(err, ErrNotFound) || got != nil {
						t.Fatalf("UserByToken = %v, %v; want ErrNotFound", got, err)
					}
					return
				}
				if err != nil || got.ID != u.ID {
					t.Fatalf("UserByToken = %+v, %v", got, err)
				}
			})
		}
		if err := c.SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UserByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UserByToken(disabled user) = %v, want ErrNotFound", err)
		}
	})
}

func TestSessions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		long, err := c.CreateSession(ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		short, err := c.CreateSession(ctx, u.ID, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateSession(ctx, u.ID, 0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("CreateSession(ttl 0) = %v, want ErrInvalid", err)
		}
		if _, err := c.CreateSession(ctx, 987654, time.Hour); !errors.Is(err, ErrNotFound) {
			t.Fatalf("CreateSession(unknown user) = %v, want ErrNotFound", err)
		}
		if got, err := c.SessionUser(ctx, short); err != nil || got.ID != u.ID {
			t.Fatalf("SessionUser(short) before expiry = %v, %v", got, err)
		}
		time.Sleep(100 * time.Millisecond)
		tests := []struct {
			name, token string
			wantOK      bool
		}{
			{"live", long, true},
			{"expired", short, false},
			{"unknown", "nope", false},
			{"empty", "", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := c.SessionUser(ctx, tt.token)
				if tt.wantOK != (err == nil) || (err != nil && !errors.Is(err, ErrNotFound)) {
					t.Fatalf("SessionUser = %v, %v; want ok=%v", got, err, tt.wantOK)
				}
			})
		}
		if n, err := c.DeleteExpiredSessions(ctx); err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
		if err := c.SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SessionUser(ctx, long); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SessionUser(disabled user) = %v, want ErrNotFound", err)
		}
		if err := c.SetDisabled(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteSession(ctx, long); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SessionUser(ctx, long); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SessionUser after logout = %v, want ErrNotFound", err)
		}
		if err := c.DeleteSession(ctx, long); err != nil {
			t.Fatalf("second DeleteSession = %v, want nil", err)
		}
	})
}
