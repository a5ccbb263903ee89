package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/node"
)

var (
	allParts    = node.All
	portalOnly  = node.Parts{Portal: true}
	trackerOnly = node.Parts{Tracker: true}
	seedboxOnly = node.Parts{Seedbox: true}
)

func loadConfig(e *env) (config.Config, error) {
	cfg, err := config.Load(e.configPath)
	if err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration: %w", err)
	}
	return cfg, nil
}

func runServe(parts node.Parts) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usagef("serve takes no arguments, got %q", pos[0])
		}
		cfg, err := loadConfig(e)
		if err != nil {
			return err
		}
		log := newLogger(e.stderr, cfg.LogLevel)
		n, err := node.New(ctx, cfg, parts, log, versionString())
		if err != nil {
			return err
		}
		defer n.Close()
		if parts.Portal {
			hintFirstAdmin(ctx, e, n.Catalog, cfg)
		}
		return n.Serve(ctx)
	}
}

// hintFirstAdmin tells a new operator how to create the first account.
func hintFirstAdmin(ctx context.Context, e *env, c *catalog.Catalog, cfg config.Config) {
	n, err := c.CountPeople(ctx)
	if err != nil || n > 0 {
		return
	}
	conf := ""
	if e.configPath != "" {
		conf = " --config " + e.configPath
	}
	fmt.Fprintf(e.stdout, "No accounts yet. Create the first admin with:\n  seedbed%s user add NAME --admin\nthen sign in at %s/login\n", conf, cfg.PublicURL)
}
