// Package gitsrc reads what the CLI needs from the git repository that holds a flag
// directory: the commit a build comes from (for reproducible snapshots), when a file last
// changed (for lint), and a directory as it was at another revision (for diff). It runs
// the git command; a directory outside any repository is not an error but "no git".
package gitsrc

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNotRepository reports a directory outside any git work tree (or a missing git).
var ErrNotRepository = errors.New("not in a git repository")

// Repo is the git work tree that holds a directory.
type Repo struct {
	Top    string // the work tree's top directory
	Prefix string // the directory's path below Top, slash-separated, "" or ending in "/"
	dir    string // the directory itself
}

// Open finds the work tree holding dir. It returns ErrNotRepository when there is none
// or git is not installed.
func Open(dir string) (*Repo, error) {
	out, err := run(dir, "rev-parse", "--show-toplevel", "--show-prefix")
	if err != nil {
		return nil, ErrNotRepository
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 1 || lines[0] == "" {
		return nil, ErrNotRepository
	}
	r := &Repo{Top: lines[0], dir: dir}
	if len(lines) > 1 {
		r.Prefix = lines[1]
	}
	return r, nil
}

// Commit is a commit's full hash and committer time.
type Commit struct {
	Hash string
	Time time.Time
}

// Head returns the commit checked out (HEAD). It fails in a repository without commits.
func (r *Repo) Head() (Commit, error) {
	return r.Resolve("HEAD")
}

// Resolve returns the commit a revision (HEAD~1, a branch, a tag, a hash) names.
func (r *Repo) Resolve(rev string) (Commit, error) {
	if strings.HasPrefix(rev, "-") {
		return Commit{}, fmt.Errorf("bad revision %q", rev)
	}
	out, err := run(r.dir, "log", "-1", "--format=%H %ct", rev+"^{commit}", "--")
	if err != nil {
		return Commit{}, fmt.Errorf("unknown revision %q", rev)
	}
	return parseCommit(out)
}

func parseCommit(out string) (Commit, error) {
	fields := strings.Fields(out)
	if len(fields) != 2 {
		return Commit{}, fmt.Errorf("unexpected git log output %q", out)
	}
	sec, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return Commit{}, fmt.Errorf("unexpected git log output %q", out)
	}
	return Commit{Hash: fields[0], Time: time.Unix(sec, 0).UTC()}, nil
}

// Dirty reports whether the directory has uncommitted changes (untracked files count).
func (r *Repo) Dirty() (bool, error) {
	out, err := run(r.dir, "status", "--porcelain", "--untracked-files=all", "--", ".")
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) != "", nil
}

// LastChange returns the last commit that changed file (a path inside the work tree), and
// false when the file has no committed history.
func (r *Repo) LastChange(file string) (Commit, bool, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return Commit{}, false, err
	}
	out, err := run(r.dir, "log", "-1", "--format=%H %ct", "--", abs)
	if err != nil {
		return Commit{}, false, err
	}
	if strings.TrimSpace(out) == "" {
		return Commit{}, false, nil
	}
	c, err := parseCommit(out)
	return c, err == nil, err
}

// Export writes the directory as it was at revision rev into dest (which must exist) and
// returns the path of the exported directory inside dest. A revision in which the
// directory does not exist is an error.
func (r *Repo) Export(rev, dest string) (string, error) {
	c, err := r.Resolve(rev)
	if err != nil {
		return "", err
	}
	args := []string{"-C", r.Top, "archive", "--format=tar", c.Hash}
	if r.Prefix != "" {
		args = append(args, "--", r.Prefix)
	}
	cmd := exec.Command("git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "did not match any files") {
			return "", fmt.Errorf("%s does not exist at revision %s", strings.TrimSuffix(r.Prefix, "/"), rev)
		}
		return "", fmt.Errorf("git archive %s: %v: %s", rev, err, msg)
	}
	if err := untar(bytes.NewReader(data), dest); err != nil {
		return "", fmt.Errorf("revision %s: %v", rev, err)
	}
	out := filepath.Join(dest, filepath.FromSlash(r.Prefix))
	if _, err := os.Stat(out); err != nil {
		return "", fmt.Errorf("%s does not exist at revision %s", strings.TrimSuffix(r.Prefix, "/"), rev)
	}
	return out, nil
}

// untar extracts regular files and directories, refusing paths that leave dest.
func untar(rd io.Reader, dest string) error {
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("archive path %q leaves the directory", h.Name)
		}
		target := filepath.Join(dest, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

// run runs git in dir and returns its standard output.
func run(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
