package cli

import (
	"flag"
	"fmt"
	"os"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/snapshot"
)

// sourceFlags say where a command's snapshot comes from: the flag directory compiled for
// an environment, a compiled snapshot file, or what a store serves an environment now.
type sourceFlags struct {
	dir      string
	env      string
	snapshot string
	store    string
}

func (s *sourceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dir, "dir", "flags", "the flag `directory`")
	fs.StringVar(&s.env, "env", "", "the `environment` (default production, or the project's last)")
	fs.StringVar(&s.snapshot, "snapshot", "", "read this compiled snapshot `file` instead of compiling --dir")
	fs.StringVar(&s.store, "store", "", "read the snapshot this store `location` serves to --env now (kill switches applied) instead of compiling --dir")
}

// source is a loaded snapshot and, when it was compiled from flag files, their project.
type source struct {
	snap    *snapshot.Snapshot
	project *compiler.Project // nil for a snapshot file
	file    string            // the snapshot file or the store, "" when compiled
	dir     string            // the flag directory, "" for a snapshot file
}

// describe names the source for messages: "production (flags)" or "out/production.snap".
func (s *source) describe() string {
	if s.file != "" {
		return s.snap.Environment + " (" + s.file + ")"
	}
	return s.snap.Environment
}

// loadSource reads the snapshot file or compiles the flag directory for the environment.
func (r *runner) loadSource(sf *sourceFlags) (*source, error) {
	if sf.snapshot != "" && sf.store != "" {
		return nil, usagef("give --snapshot or --store, not both")
	}
	if sf.store != "" {
		env := sf.env
		if env == "" {
			env = "production"
		}
		served, err := r.mustReadServed(sf.store, env)
		if err != nil {
			return nil, err
		}
		s, err := snapshot.Decode(served.data)
		if err != nil {
			return nil, fmt.Errorf("%s: the snapshot %s served to %s: %v", sf.store, served.pointer.Snapshot, env, err)
		}
		return &source{snap: s, file: sf.store}, nil
	}
	if sf.snapshot != "" {
		data, err := os.ReadFile(r.path(sf.snapshot))
		if err != nil {
			return nil, err
		}
		s, err := snapshot.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", sf.snapshot, err)
		}
		if sf.env != "" && sf.env != s.Environment {
			return nil, usagef("--env %s, but %s was compiled for %s", sf.env, sf.snapshot, s.Environment)
		}
		return &source{snap: s, file: sf.snapshot}, nil
	}
	p, err := r.loadProject(sf.dir)
	if err != nil {
		return nil, err
	}
	env, err := pickEnvironment(p, sf.env)
	if err != nil {
		return nil, err
	}
	s, err := buildSnapshot(p, env, buildInfo{})
	if err != nil {
		return nil, err
	}
	return &source{snap: s, project: p, dir: sf.dir}, nil
}

// loadProject loads and checks the flag directory.
func (r *runner) loadProject(dir string) (*compiler.Project, error) {
	p, err := compiler.Load(r.path(dir))
	if err != nil {
		return nil, err
	}
	return p, nil
}

// pickEnvironment returns env when the project lists it; without env, production when the
// project has it, else its last environment.
func pickEnvironment(p *compiler.Project, env string) (string, error) {
	if env != "" {
		if !p.HasEnvironment(env) {
			return "", usagef("unknown environment %q (the project has %v)", env, p.Environments)
		}
		return env, nil
	}
	if p.HasEnvironment("production") || len(p.Environments) == 0 {
		return "production", nil
	}
	return p.Environments[len(p.Environments)-1], nil
}
