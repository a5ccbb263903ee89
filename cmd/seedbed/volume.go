package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/seedbox"
)

const volumeUsage = "usage: seedbed volume list [--json] | add NAME PATH [--node N] [--state S] [--capacity SIZE] [--reserve SIZE] | " +
	"set NAME --state active|readonly|maintenance | force NAME|--off (set and force act on this node's volumes, seedbox.node)"

func runVolume(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef(volumeUsage)
	}
	switch args[0] {
	case "list":
		return volumeList(ctx, e, args[1:])
	case "add":
		return volumeAdd(ctx, e, args[1:])
	case "set":
		return volumeSet(ctx, e, args[1:])
	case "force":
		return volumeForce(ctx, e, args[1:])
	}
	return usagef(volumeUsage)
}

// volumeRow is one volume as `volume list --json` prints it.
type volumeRow struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Node     string `json:"node"`
	State    string `json:"state"`
	Capacity int64  `json:"capacity"`
	Reserve  int64  `json:"reserve"`
	Used     *int64 `json:"used"` // file system or capped usage; null on other nodes
	Free     *int64 `json:"free"`
	Torrents int64  `json:"torrents"`
	Bytes    int64  `json:"bytes"` // content the catalog places on it
	Forced   bool   `json:"forced"`
}

func volumeList(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("volume list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef(volumeUsage)
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	cat, err := openCatalog(ctx, e)
	if err != nil {
		return err
	}
	defer cat.Close()
	infos, err := cat.VolumeInfos(ctx, "")
	if err != nil {
		return err
	}
	settings, err := cat.Settings(ctx)
	if err != nil {
		return err
	}
	forcedNode, forced := "", ""
	if settings[catalog.SettingPlacement] == seedbox.PlaceForced {
		forcedNode, forced = catalog.ParseForcedVolume(settings[catalog.SettingForceVolume])
	}
	rows := make([]volumeRow, len(infos))
	for i, v := range infos {
		rows[i] = volumeRow{Name: v.Name, Path: v.Path, Node: v.Node, State: v.State, Capacity: v.Capacity,
			Reserve: v.Reserve, Torrents: v.Torrents, Bytes: v.Bytes,
			Forced: v.Name == forced && (forcedNode == "" || forcedNode == v.Node)}
		if v.Node == cfg.Seedbox.Node {
			sv := seedbox.Volume{Path: v.Path, Capacity: v.Capacity, Used: v.Bytes}
			if used, _, err := sv.Usage(); err == nil {
				rows[i].Used = &used
			}
			if free, err := sv.Free(); err == nil {
				rows[i].Free = &free
			}
		}
	}
	if *asJSON {
		return writeJSON(e, rows)
	}
	return writeVolumes(e, rows, settings)
}

func writeVolumes(e *env, rows []volumeRow, settings map[string]string) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNAME\tPATH\tSTATE\tUSED\tFREE\tCAPACITY\tTORRENTS")
	for _, r := range rows {
		used, free, capa := "-", "-", "fs"
		if r.Used != nil {
			used = config.HumanBytes(*r.Used)
		}
		if r.Free != nil {
			free = config.HumanBytes(*r.Free)
		}
		if r.Capacity > 0 {
			capa = config.HumanBytes(r.Capacity)
		}
		state := r.State
		if r.Forced {
			state += " (forced)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Node, r.Name, r.Path, state, used, free, capa, r.Torrents)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p := settings[catalog.SettingPlacement]; p != "" {
		fmt.Fprintf(e.stdout, "placement: %s %s (set with seedbed volume force; --off returns to the config's)\n", p, settings[catalog.SettingForceVolume])
	}
	return nil
}

func volumeAdd(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("volume add", flag.ContinueOnError)
	nodeName := fs.String("node", "", "node whose volume it is (default: this node, seedbox.node)")
	state := fs.String("state", catalog.VolumeActive, "active | readonly | maintenance")
	capacity := fs.String("capacity", "0", "cap on what the volume holds, e.g. 500GiB (0: the file system's size)")
	reserve := fs.String("reserve", "1GiB", "free space below which the volume gets nothing new")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("usage: seedbed volume add NAME PATH [--node N] [--state S] [--capacity SIZE] [--reserve SIZE]")
	}
	capa, err := config.ParseSize(*capacity)
	if err != nil {
		return usagef("--capacity: %v", err)
	}
	res, err := config.ParseSize(*reserve)
	if err != nil {
		return usagef("--reserve: %v", err)
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if *nodeName == "" {
		*nodeName = cfg.Seedbox.Node
	}
	path, err := filepath.Abs(pos[1])
	if err != nil {
		return err
	}
	if *nodeName == cfg.Seedbox.Node && *state != catalog.VolumeMaintenance {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return fmt.Errorf("volume %s: %w", pos[0], err)
		}
	}
	cat, err := openCatalog(ctx, e)
	if err != nil {
		return err
	}
	defer cat.Close()
	v, err := cat.AddVolume(ctx, catalog.VolumeInfo{Volume: catalog.Volume{Name: pos[0], Path: path, Node: *nodeName, State: *state},
		Capacity: int64(capa), Reserve: int64(res)})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added volume %s at %s on node %s (%s); a running node uses it within seconds\n", v.Name, v.Path, v.Node, v.State)
	return nil
}

func volumeSet(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("volume set", flag.ContinueOnError)
	state := fs.String("state", "", "active | readonly | maintenance")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *state == "" {
		return usagef("usage: seedbed volume set NAME --state active|readonly|maintenance")
	}
	if !catalog.ValidVolumeState(*state) {
		return usagef("--state %q must be active, readonly or maintenance", *state)
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	cat, err := openCatalog(ctx, e)
	if err != nil {
		return err
	}
	defer cat.Close()
	if err := cat.SetVolumeState(ctx, cfg.Seedbox.Node, pos[0], *state); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "volume %s of node %s is now %s\n", pos[0], cfg.Seedbox.Node, *state)
	return nil
}

func volumeForce(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("volume force", flag.ContinueOnError)
	off := fs.Bool("off", false, "release the forced volume: back to the configured placement")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *off == (len(pos) == 1) || len(pos) > 1 {
		return usagef("usage: seedbed volume force NAME|--off")
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	cat, err := openCatalog(ctx, e)
	if err != nil {
		return err
	}
	defer cat.Close()
	if *off {
		if err := cat.SetSettings(ctx, map[string]string{catalog.SettingPlacement: "", catalog.SettingForceVolume: ""}); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "forced placement released: new uploads follow the configured placement")
		return nil
	}
	v, err := cat.VolumeByName(ctx, cfg.Seedbox.Node, pos[0])
	if err != nil {
		return err
	}
	if v.State != catalog.VolumeActive {
		return fmt.Errorf("volume %s is %s: only an active volume can take new uploads (seedbed volume set %s --state active)", v.Name, v.State, v.Name)
	}
	if err := cat.SetSettings(ctx, map[string]string{catalog.SettingPlacement: seedbox.PlaceForced, catalog.SettingForceVolume: catalog.ForcedVolume(v.Node, v.Name)}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "every new upload goes to volume %s of node %s until seedbed volume force --off\n", v.Name, v.Node)
	return nil
}
