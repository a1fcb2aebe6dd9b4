package tests

import (
	"strings"
	"testing"
)

// cliCommands is every edgeflag command.
var cliCommands = []string{"validate", "compile", "eval", "explain", "inspect", "diff", "simulate", "lint", "check"}

func testCLIConventions(t *testing.T, bin *cliBinary) {
	dir := t.TempDir()
	t.Run("help on every command", func(t *testing.T) {
		for _, name := range cliCommands {
			for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
				res := bin.run(t, dir, args...)
				res.expectCode(t, 0)
				for _, want := range []string{"Usage: edgeflag " + name, "Example:\n  edgeflag " + name} {
					if !strings.Contains(res.stdout, want) {
						t.Errorf("edgeflag %s: help lacks %q:\n%s", strings.Join(args, " "), want, res.stdout)
					}
				}
				if res.stderr != "" {
					t.Errorf("edgeflag %s: help wrote to stderr: %s", strings.Join(args, " "), res.stderr)
				}
			}
		}
	})
	t.Run("overview", func(t *testing.T) {
		res := bin.run(t, dir, "help")
		res.expectCode(t, 0)
		for _, name := range cliCommands {
			if !strings.Contains(res.stdout, "  "+name+" ") {
				t.Errorf("edgeflag help does not list %s:\n%s", name, res.stdout)
			}
		}
		cliGolden(t, "help", res.stdout)
	})
	usage := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no command", nil, "Usage: edgeflag <command>"},
		{"unknown command", []string{"deploy"}, `unknown command "deploy"`},
		{"unknown flag", []string{"validate", "--colour"}, "flag provided but not defined: -colour"},
		{"missing argument", []string{"inspect"}, "missing argument"},
		{"extra argument", []string{"validate", "a", "b"}, `unexpected argument "b"`},
		{"eval without a flag", []string{"eval"}, "name a flag (or --all)"},
		{"eval flag and --all", []string{"eval", "x", "--all"}, "not both"},
		{"bad --at", []string{"eval", "x", "--at", "tomorrow"}, "want RFC 3339"},
		{"bad attribute", []string{"eval", "x", "-a", "userId"}, "want key=value"},
		{"bad --ctx", []string{"eval", "x", "--ctx", "{userId:1}"}, "--ctx: want a JSON object"},
		{"--ctx with an attribute twice", []string{"eval", "x", "--ctx", `{"user":{"id":1},"user.id":2}`}, `--ctx: want a JSON object of attributes, as in {"userId":"u1"}: context attribute "user.id": given twice`},
		{"bad --now", []string{"lint", "--now", "soon"}, "--now"},
		{"bad --stale-after", []string{"lint", "--stale-after", "two weeks"}, "--stale-after"},
		{"users and ids", []string{"simulate", "x", "--users", "5", "--ids", "f"}, "not both"},
		{"bad progress mode", []string{"simulate", "x", "--progress", "sometimes"}, "--progress"},
		{"diff without arguments", []string{"diff"}, "missing argument"},
	}
	for _, tc := range usage {
		t.Run("usage/"+tc.name, func(t *testing.T) {
			res := bin.run(t, dir, tc.args...)
			res.expectCode(t, 2)
			if !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("a usage error wrote to stdout:\n%s", res.stdout)
			}
		})
	}
	t.Run("no colour when not a terminal", func(t *testing.T) {
		work := cliExampleFlags(t)
		for _, args := range [][]string{
			{"validate"},
			{"explain", "new-search-algorithm", "-a", "userId=u1", "--at", "2026-11-26T12:00:00Z"},
			{"check", "--now", "2026-11-26"},
			{"lint", "--now", "2027-01-20"},
		} {
			res := bin.run(t, work, args...)
			if strings.Contains(res.stdout+res.stderr, "\x1b[") {
				t.Errorf("edgeflag %s: colour codes in output piped to a file:\n%q", strings.Join(args, " "), res.stdout)
			}
		}
	})
	t.Run("version", func(t *testing.T) {
		res := bin.run(t, dir, "version")
		res.expectCode(t, 0)
		if !strings.HasPrefix(res.stdout, "edgeflag ") {
			t.Errorf("version: %q", res.stdout)
		}
	})
}
