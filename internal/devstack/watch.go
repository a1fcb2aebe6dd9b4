package devstack

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/snapshot"
)

// fingerprint identifies the state of a flag directory: every YAML file the compiler
// reads, with its size and modification time. Polling it is how `edgeflag dev` notices
// edits, with no dependency on inotify or fsnotify.
type fingerprint struct {
	files   []fileStamp
	newest  int64  // the latest modification time, Unix seconds
	problem string // why the directory could not be read, "" when it could
}

type fileStamp struct {
	path  string
	size  int64
	mtime int64 // Unix nanoseconds
}

// scan reads the fingerprint of dir: the .yaml and .yml files below it, skipping
// directories whose name starts with a dot, as compiler.Load does.
func scan(dir string) fingerprint {
	var fp fingerprint
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while walking: the next scan sees it gone
		}
		if err != nil {
			return err
		}
		fp.files = append(fp.files, fileStamp{path: path, size: info.Size(), mtime: info.ModTime().UnixNano()})
		fp.newest = max(fp.newest, info.ModTime().Unix())
		return nil
	})
	if err != nil {
		fp.problem = err.Error()
	}
	return fp
}

// equal reports whether two fingerprints describe the same files.
func (f fingerprint) equal(g fingerprint) bool {
	return f.problem == g.problem && slices.Equal(f.files, g.files)
}

// build is the outcome of compiling the flag directory once.
type build struct {
	environments []string // in the project's order
	snapshots    [][]byte // encoded, one per environment
	plans        [][]byte // the rollout plans, one per environment
	flags        []string // flag keys, sorted
	project      *compiler.Project
	problems     compiler.ErrorList
}

// compile loads dir and builds every environment, with the given revision and build time.
// Problems in the flag files come back in build.problems (with file:line:column);
// nothing is built then.
func compile(dir, revision string, buildTime int64) build {
	p, err := compiler.Load(dir)
	if err != nil {
		return build{problems: asErrorList(dir, err)}
	}
	b := build{environments: p.Environments, project: p}
	for _, f := range p.Flags {
		b.flags = append(b.flags, f.Key)
	}
	for _, env := range p.Environments {
		s, err := p.Build(env, compiler.Options{Revision: revision, BuildTime: buildTime})
		if err != nil {
			return build{problems: asErrorList(dir, fmt.Errorf("environment %s: %w", env, err))}
		}
		b.snapshots = append(b.snapshots, snapshot.Encode(s))
		plan, err := p.RolloutPlan(env)
		var data []byte
		if err == nil {
			data, err = plan.Encode()
		}
		if err != nil {
			return build{problems: asErrorList(dir, fmt.Errorf("environment %s: rollout plan: %w", env, err))}
		}
		b.plans = append(b.plans, data)
	}
	return b
}

// asErrorList returns the problems of a compiler error, or the error as one problem of dir.
func asErrorList(dir string, err error) compiler.ErrorList {
	var list compiler.ErrorList
	if errors.As(err, &list) {
		return list
	}
	return compiler.ErrorList{{File: dir, Message: err.Error()}}
}
