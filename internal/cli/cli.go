// Package cli implements the edgeflag command line: the command table, argument parsing
// with the standard library's flag package, and one file per command. cmd/edgeflag only
// calls Main.
//
// Conventions shared by every command: --help prints the command's help with an example
// on standard output; exit code 0 means success, 1 findings or errors, 2 a usage error;
// commands that print results take --json; colour is used only when standard output is a
// terminal (and NO_COLOR is unset); errors go to standard error.
package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/internal/termsafe"
)

// Exit codes.
const (
	ExitOK       = 0 // success, nothing to report
	ExitFindings = 1 // errors or findings (invalid flags, lint findings, checklist errors)
	ExitUsage    = 2 // the command line is wrong
)

// Env is what a command run sees of the world. Main fills it from the process; tests may
// build their own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Now    func() time.Time
	// Color enables ANSI colour on Stdout; StderrTerminal enables progress bars on Stderr.
	Color          bool
	StderrTerminal bool
	// Dir is the working directory relative paths are resolved against ("" for the
	// process's).
	Dir string
}

// Main runs the command line of the current process and returns its exit code.
func Main() int {
	env := &Env{
		Stdin:          os.Stdin,
		Stdout:         os.Stdout,
		Stderr:         os.Stderr,
		Getenv:         os.Getenv,
		Now:            time.Now,
		StderrTerminal: isTerminal(os.Stderr),
	}
	env.Color = isTerminal(os.Stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	return Run(env, os.Args[1:])
}

// command is one subcommand. run parses its own flags with a flag set from newFlags.
type command struct {
	name        string
	summary     string // one line for the command list
	usage       string // after "edgeflag <name> "
	description string // paragraphs for --help
	example     string // one or more example invocations, shown by --help
	run         func(r *runner, args []string) int
}

// commands is the command table, in the order `edgeflag help` lists them. A new command
// (publish and rollback, for instance) is one more entry and one more file.
var commands []*command

func init() {
	commands = []*command{
		validateCommand,
		compileCommand,
		evalCommand,
		explainCommand,
		inspectCommand,
		diffCommand,
		simulateCommand,
		lintCommand,
		checkCommand,
		publishCommand,
		rollbackCommand,
		rolloutCommand,
		devCommand,
		edgeCommand,
		keygenCommand,
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// Run runs one command line (without the program name) and returns the exit code.
//
// Everything written to env's Stdout and Stderr is escaped on the way out (package
// termsafe): control characters and bidirectional-text overrides in file names, flag
// files, store values and answers are printed as \x1b or \u202e, so they cannot recolour
// or rewrite the terminal or a CI log. The CLI's own colour codes and progress bar are
// written as they are.
func Run(env *Env, args []string) int {
	term := termsafe.NewMarker()
	stdout, stderr := term.NewWriter(env.Stdout), term.NewWriter(env.Stderr)
	safe := *env
	safe.Stdout, safe.Stderr = stdout, stderr
	code := run(&safe, term, args)
	_ = stdout.Flush()
	_ = stderr.Flush()
	return code
}

// run is Run on an Env whose output escapes.
func run(env *Env, term *termsafe.Marker, args []string) int {
	if len(args) == 0 {
		printOverview(env.Stderr)
		return ExitUsage
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			c := lookup(args[1])
			if c == nil {
				fmt.Fprintf(env.Stderr, "edgeflag help: unknown command %q\n", args[1])
				return ExitUsage
			}
			r := &runner{env: env, cmd: c, term: term}
			r.printHelp(env.Stdout, r.newFlags())
			return ExitOK
		}
		printOverview(env.Stdout)
		return ExitOK
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "edgeflag", version())
		return ExitOK
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(env.Stderr, "edgeflag: unknown command %q\n\n", args[0])
		printOverview(env.Stderr)
		return ExitUsage
	}
	return c.run(&runner{env: env, cmd: c, term: term}, args[1:])
}

func printOverview(w io.Writer) {
	var b strings.Builder
	b.WriteString("edgeflag: feature flags as code for progressive delivery.\n\n")
	b.WriteString("Usage: edgeflag <command> [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'edgeflag <command> --help' for a command's flags and an example.\n")
	io.WriteString(w, b.String())
}
