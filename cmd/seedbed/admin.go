package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/seedbed/seedbed/catalog"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

func runVersion(_ context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(e.stdout, "seedbed %s\n", versionString())
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(e.stdout, "go: %s\n", bi.GoVersion)
		for _, s := range bi.Settings {
			if s.Key == "-tags" || s.Key == "vcs.time" || s.Key == "vcs.modified" {
				fmt.Fprintf(e.stdout, "%s: %s\n", s.Key, s.Value)
			}
		}
	}
	return nil
}

func openCatalog(ctx context.Context, e *env) (*catalog.Catalog, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return nil, err
	}
	return catalog.Open(ctx, catalog.Options{URL: cfg.Database.URL, DataDir: cfg.DataDir, Logger: newLogger(e.stderr, "warn")})
}

func runUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usagef("usage: seedbed user add NAME [--admin] [--password-stdin]")
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	admin := fs.Bool("admin", false, "make the user an administrator")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: seedbed user add NAME [--admin] [--password-stdin]")
	}
	password, generated := "", false
	if *pwStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		password, generated = randomPassword(), true
	}
	c, err := openCatalog(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	role := catalog.Role("user")
	if *admin {
		role = "admin"
	}
	u, err := c.CreateUser(ctx, pos[0], password, role)
	if err != nil {
		return fmt.Errorf("create user %s: %w", pos[0], err)
	}
	tok, err := c.CreateToken(ctx, u.ID, "created by seedbed user add")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s %s\n", role, u.Name)
	if generated {
		fmt.Fprintf(e.stdout, "password: %s\n", password)
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}

func runToken(ctx context.Context, e *env, args []string) error {
	if len(args) != 2 || args[0] != "create" {
		return usagef("usage: seedbed token create NAME")
	}
	c, err := openCatalog(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	u, err := c.UserByName(ctx, args[1])
	if err != nil {
		return fmt.Errorf("user %s: %w", args[1], err)
	}
	tok, err := c.CreateToken(ctx, u.ID, "created by seedbed token create")
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}

func randomPassword() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
