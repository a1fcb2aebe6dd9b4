package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/edgeflag/edgeflag/internal/termsafe"
)

// runner runs one command: it owns the command's flag set and its output helpers.
type runner struct {
	env *Env
	cmd *command
	// term marks the control sequences the CLI writes itself (colour, a progress bar's
	// carriage return): env's Stdout and Stderr escape all others (package termsafe).
	term *termsafe.Marker
}

// newFlags returns an empty flag set for the command that reports errors instead of
// exiting.
func (r *runner) newFlags() *flag.FlagSet {
	fs := flag.NewFlagSet(r.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// errUsage marks an error that is the command line's fault (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// parse parses args with fs, letting flags and positional arguments come in any order
// (`edgeflag eval new-search --env staging` as well as `edgeflag eval --env staging
// new-search`); "--" ends the flags. It checks the number of positional arguments
// against min and max (max < 0: no limit). On --help it prints the help and returns
// done with ExitOK; on a usage error it reports it and returns done with ExitUsage.
func (r *runner) parse(fs *flag.FlagSet, args []string, min, max int) (positional []string, code int, done bool) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			r.printHelp(r.env.Stdout, fs)
			return nil, ExitOK, true
		}
		if err != nil {
			return nil, r.usageFail(err), true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// flag.Parse stops at the first positional argument, or consumes "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	switch {
	case len(positional) < min:
		return nil, r.usageFail(usagef("missing argument: usage: edgeflag %s %s", r.cmd.name, r.cmd.usage)), true
	case max >= 0 && len(positional) > max:
		return nil, r.usageFail(usagef("unexpected argument %q: usage: edgeflag %s %s", positional[max], r.cmd.name, r.cmd.usage)), true
	}
	return positional, ExitOK, false
}

// usageFail reports a usage error on stderr and returns ExitUsage.
func (r *runner) usageFail(err error) int {
	fmt.Fprintf(r.env.Stderr, "edgeflag %s: %v\nRun 'edgeflag %s --help' for usage.\n", r.cmd.name, err, r.cmd.name)
	return ExitUsage
}

// fail reports an error on stderr and returns the matching exit code: ExitUsage for a
// usage error, ExitFindings otherwise.
func (r *runner) fail(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return r.usageFail(err)
	}
	fmt.Fprintf(r.env.Stderr, "edgeflag %s: %v\n", r.cmd.name, err)
	return ExitFindings
}

// printHelp writes the command's help: usage, description, flags and example.
func (r *runner) printHelp(w io.Writer, fs *flag.FlagSet) {
	c := r.cmd
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: edgeflag %s %s\n\n", c.name, c.usage)
	b.WriteString(strings.TrimSpace(c.description))
	b.WriteString("\n")
	var lines [][2]string
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		left := dash + f.Name
		if name != "" {
			left += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		width = max(width, len(left))
		lines = append(lines, [2]string{left, usage})
	})
	if len(lines) > 0 {
		b.WriteString("\nFlags:\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, l[0], l[1])
		}
	}
	b.WriteString("\nExample:\n")
	for _, line := range strings.Split(strings.TrimSpace(c.example), "\n") {
		b.WriteString("  " + strings.TrimSpace(line) + "\n")
	}
	io.WriteString(w, b.String())
}

// path resolves a path given on the command line against the Env's directory.
func (r *runner) path(p string) string {
	if p == "" || filepath.IsAbs(p) || r.env.Dir == "" {
		return p
	}
	return filepath.Join(r.env.Dir, p)
}

// getenv reads an environment variable through the Env.
func (r *runner) getenv(name string) string {
	if r.env.Getenv == nil {
		return ""
	}
	return r.env.Getenv(name)
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// version reports the module version or VCS revision the binary was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "(devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
