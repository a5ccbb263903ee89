// Command seedbed runs Seedbed: `seedbed serve` runs a whole node (portal,
// tracker and seedbox); other subcommands run one part or administer the
// catalog. Exit status: 0 on success, 1 on failure (one line on stderr),
// 2 on bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

type command struct {
	name, args, help string
	run              func(ctx context.Context, env *env, args []string) error
}

// env is what every subcommand gets: output streams and the config path.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	configPath     string
}

func commands() []command {
	return []command{
		{"serve", "[--config FILE]", "run a whole node: portal, tracker and seedbox", runServe(allParts)},
		{"portal", "[--config FILE]", "run the portal alone", runServe(portalOnly)},
		{"tracker", "[--config FILE]", "run the tracker alone", runServe(trackerOnly)},
		{"seedbox", "[--config FILE]", "run the seedbox alone", runServe(seedboxOnly)},
		{"user", "add NAME [--admin] [--password-stdin]", "create a user; prints its API token last", runUser},
		{"token", "create NAME", "print a new API token for a user", runToken},
		{"volume", "list|add|set|force ...", "storage volumes: list, add, change state, force placement", runVolume},
		{"retention", "plan [--json] | apply | log", "the retention policy: what would be purged and why / do it", runRetention},
		{"backup", "FILE", "write a consistent copy of the catalog to FILE (SQLite or pg_dump), safe while nodes run", runBackup},
		{"upload", "[--server URL] [--token T] PATH...", "upload files or folders, resumable; prints page URL and magnet", runUpload},
		{"version", "", "print version and build info", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, configPath: os.Getenv("SEEDBED_CONFIG")}
	args, err := globalFlags(e, args)
	if err == nil && len(args) == 0 {
		err = usagef("no command given")
	}
	if err == nil {
		err = dispatch(e, args)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "seedbed: %v\n", err)
		usage(stderr)
		return 2
	default:
		fmt.Fprintf(stderr, "seedbed: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 1
	}
}

// globalFlags takes --config FILE from anywhere on the command line.
func globalFlags(e *env, args []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-h" || a == "--help" || a == "help":
			return nil, flag.ErrHelp
		case a == "--config" || a == "-config":
			if i+1 >= len(args) {
				return nil, usagef("--config needs a file")
			}
			e.configPath = args[i+1]
			i++
		case strings.HasPrefix(a, "--config="):
			e.configPath = strings.TrimPrefix(a, "--config=")
		default:
			rest = append(rest, a)
		}
	}
	return rest, nil
}

func dispatch(e *env, args []string) error {
	for _, c := range commands() {
		if c.name == args[0] {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return c.run(ctx, e, args[1:])
		}
	}
	return usagef("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: seedbed [--config FILE] COMMAND [ARGS]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %-40s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nConfiguration: --config FILE or SEEDBED_CONFIG, then SEEDBED_* environment variables.")
}

// parseFlags parses flags that may come before or after positional
// arguments, and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
