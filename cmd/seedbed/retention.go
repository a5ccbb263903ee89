package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/node"
	"github.com/seedbed/seedbed/seedbox"
	"github.com/seedbed/seedbed/seedbox/retention"
)

const retentionUsage = "usage: seedbed retention plan [--json] | apply [--json] | log [--json] [--limit N]"

func runRetention(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef(retentionUsage)
	}
	fs := flag.NewFlagSet("retention "+args[0], flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	limit := fs.Int("limit", 50, "with log: how many purges to list (0: all)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(retentionUsage)
	}
	switch args[0] {
	case "plan":
		return retentionPlan(ctx, e, *asJSON, false)
	case "apply":
		return retentionPlan(ctx, e, *asJSON, true)
	case "log":
		return retentionLog(ctx, e, *asJSON, *limit)
	}
	return usagef(retentionUsage)
}

// localSetup opens the catalog and this node's volumes as the catalog has
// them.
func localSetup(ctx context.Context, e *env) (config.Config, *catalog.Catalog, *seedbox.Volumes, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return cfg, nil, nil, err
	}
	cat, err := catalog.Open(ctx, catalog.Options{URL: cfg.Database.URL, DataDir: cfg.DataDir, Logger: newLogger(e.stderr, "warn")})
	if err != nil {
		return cfg, nil, nil, err
	}
	vols, err := node.LocalVolumes(ctx, cat, cfg.Seedbox.Node)
	if err != nil {
		cat.Close()
		return cfg, nil, nil, err
	}
	vs, err := seedbox.NewVolumes(vols, cfg.Seedbox.Placement, cfg.Seedbox.ForceVolume)
	if err != nil {
		cat.Close()
		return cfg, nil, nil, err
	}
	return cfg, cat, vs, nil
}

func retentionPlan(ctx context.Context, e *env, asJSON, apply bool) error {
	cfg, cat, vs, err := localSetup(ctx, e)
	if err != nil {
		return err
	}
	defer cat.Close()
	plan, err := retention.Evaluate(ctx, cat, vs, cfg.Seedbox.Node, retention.PolicyFrom(cfg.Retention), time.Now())
	if err != nil {
		return err
	}
	if !apply {
		if asJSON {
			return writeJSON(e, plan)
		}
		return plan.WriteText(e.stdout)
	}
	a := &retention.Applier{Catalog: cat, Volumes: vs, Node: cfg.Seedbox.Node, Logger: newLogger(e.stderr, "warn")}
	res, err := a.Apply(ctx, plan, cliActor())
	if asJSON {
		if jerr := writeJSON(e, res); jerr != nil && err == nil {
			err = jerr
		}
	} else {
		writeResult(e, res)
	}
	if err != nil {
		return fmt.Errorf("retention apply: %w (run it again to finish)", err)
	}
	return nil
}

func writeResult(e *env, res retention.Result) {
	for _, p := range res.Purged {
		fmt.Fprintf(e.stdout, "purged %s  %s  %s: %s\n", p.InfoHash, config.HumanBytes(p.Size), p.Rule, p.Title)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(e.stdout, "skipped %s: %s\n", s.InfoHash, s.Why)
	}
	var total int64
	for _, n := range res.Freed {
		total += n
	}
	fmt.Fprintf(e.stdout, "%d torrent(s) purged, %s deleted on this node\n", len(res.Purged), config.HumanBytes(total))
}

func retentionLog(ctx context.Context, e *env, asJSON bool, limit int) error {
	cat, err := openCatalog(ctx, e)
	if err != nil {
		return err
	}
	defer cat.Close()
	ps, err := cat.Purges(ctx, limit)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(e, ps)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tINFOHASH\tRULE\tBY\tSIZE\tDONE\tREASON")
	for _, p := range ps {
		done := "no"
		if !p.FinishedAt.IsZero() {
			done = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.CreatedAt.Format(time.RFC3339), p.InfoHash, p.Rule, p.Actor,
			config.HumanBytes(p.Bytes), done, p.Reason)
	}
	return tw.Flush()
}

// cliActor names who runs a command, for the purge record.
func cliActor() string {
	name := os.Getenv("SUDO_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = "unknown"
	}
	return "cli:" + name
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
