package retention

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/seedbed/seedbed/config"
)

// WriteText prints the plan for people: the purges with their reasons, then
// the bytes freed per volume, then the nodes and volumes not measured.
func (p Plan) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Retention plan at %s: %d torrent(s) to purge, %s freed.\n\n",
		p.At.UTC().Format("2006-01-02 15:04:05 MST"), len(p.Purges), config.HumanBytes(p.Freed))
	if len(p.Purges) > 0 {
		fmt.Fprintln(tw, "INFOHASH\tSIZE\tRULE\tTITLE\tREASON")
		for _, pu := range p.Purges {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", pu.InfoHash, config.HumanBytes(pu.Size), pu.Rule, pu.Title, pu.Reason)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "VOLUME\tNODE\tUSED\tCAPACITY\tFULL\tFREED\tFULL AFTER")
	for _, v := range p.Volumes {
		used, capa, full, after := "-", "-", "-", "-"
		if v.Capacity > 0 {
			used, capa = config.HumanBytes(v.Used), config.HumanBytes(v.Capacity)
			full, after = fmt.Sprintf("%.1f%%", 100*v.Fullness), fmt.Sprintf("%.1f%%", 100*v.FullnessAfter)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Node, used, capa, full, config.HumanBytes(v.Freed), after)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Unmeasured) > 0 {
		fmt.Fprintln(w, "\nNot measured (the high-water rule skipped them):")
	}
	for _, u := range p.Unmeasured {
		if _, err := fmt.Fprintln(w, u.String()); err != nil {
			return err
		}
	}
	return nil
}
