package poller

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store/layout"
)

// state is what the poller knows of Config.StateDir.
type state struct {
	snap    string // hash of the snapshot on disk ("" when none is known)
	ptr     []byte // the pointer on disk
	unsaved []byte // the served snapshot, while it is not on disk
}

// StatePointerFile is the name of the file in Config.StateDir that holds the pointer
// env's poller serves, as the store sent it.
func StatePointerFile(env string) string { return env + ".pointer.json" }

// StateSnapshotFile is the name of the file in Config.StateDir that holds env's snapshot
// of the given hash: the one the pointer file names.
func StateSnapshotFile(env, hash string) string { return env + "." + hash + ".snap" }

// Restore loads the state of Config.StateDir (see there), once, before the first poll:
// Run calls it unless it was called before. It returns nil when it applied the state
// (Status.Restored) and when there is none to apply (no StateDir, or nothing written for
// the environment yet); otherwise an error that says why the state was ignored, also
// kept in Status.StateError, and the poller starts empty. It fails when a snapshot is
// loaded already.
func (p *Poller) Restore() error {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	p.restoreDone = true
	if p.cfg.StateDir == "" {
		return nil
	}
	p.mu.Lock()
	loaded := p.st.Loaded
	p.mu.Unlock()
	if loaded {
		return errors.New("poller: Restore: a snapshot is loaded already")
	}
	ptr, body, data, err := p.readState()
	if err == nil && ptr != nil {
		if err = p.cfg.Apply(data, *ptr); err != nil {
			err = fmt.Errorf("poller: ignoring the state in %s: applying snapshot %s: %w", p.cfg.StateDir, ptr.Snapshot, err)
		}
	}
	p.mu.Lock()
	p.st.StateError = err
	if err == nil && ptr != nil {
		p.st.Pointer = *ptr
		p.st.Loaded = true
		p.st.Restored = true
		p.st.RestoredAt = time.Now()
	}
	p.mu.Unlock()
	if err == nil && ptr != nil {
		p.body = body
		p.state = state{snap: ptr.Snapshot, ptr: body}
	}
	return err
}

// readState reads and checks the state of the poller's environment; all nil when there
// is none.
func (p *Poller) readState() (ptr *Pointer, body, data []byte, err error) {
	dir, env := p.cfg.StateDir, p.cfg.Environment
	ignore := func(format string, args ...any) (*Pointer, []byte, []byte, error) {
		return nil, nil, nil, fmt.Errorf("poller: ignoring the state in %s: "+format, append([]any{dir}, args...)...)
	}
	ptrFile := StatePointerFile(env)
	body, err = readFileLimit(filepath.Join(dir, ptrFile), layout.MaxPointerSize)
	if errors.Is(err, fs.ErrNotExist) {
		// A snapshot without a pointer: the first write was interrupted between the two.
		if snaps, _ := filepath.Glob(filepath.Join(dir, StateSnapshotFile(env, "*"))); len(snaps) > 0 {
			return ignore("%s has no %s beside it (a write was interrupted)", filepath.Base(snaps[0]), ptrFile)
		}
		return nil, nil, nil, nil
	}
	if err != nil {
		return ignore("%w", err)
	}
	if ptr, err = layout.ParsePointer(body, env); err != nil {
		return ignore("%s: %w", ptrFile, err)
	}
	if p.cfg.Keys != nil {
		if err := checkSigned(p.cfg.Keys, env, ptr, nil, false); err != nil {
			return ignore("%s refused: %w", ptrFile, err)
		}
	}
	snapFile := StateSnapshotFile(env, ptr.Snapshot)
	if data, err = readFileLimit(filepath.Join(dir, snapFile), MaxSnapshotSize); err != nil {
		return ignore("the snapshot %s names: %w", ptrFile, err)
	}
	if err := snapshot.Verify(data); err != nil {
		return ignore("%s: %w", snapFile, err)
	}
	if h, _ := snapshot.Hash(data); h != ptr.Snapshot {
		return ignore("%s holds snapshot %s, %s names %s", snapFile, h, ptrFile, ptr.Snapshot)
	}
	return ptr, body, data, nil
}

// saveState writes the served pointer, and its snapshot when not on disk yet, after a
// successful poll: when the pointer changed or the last write failed.
func (p *Poller) saveState() {
	if p.cfg.StateDir == "" || p.body == nil {
		return
	}
	if bytes.Equal(p.body, p.state.ptr) && p.state.unsaved == nil {
		return // on disk already
	}
	p.mu.Lock()
	served := p.st.Pointer.Snapshot
	p.mu.Unlock()
	err := p.writeState(served)
	p.mu.Lock()
	p.st.StateError = err
	p.mu.Unlock()
	if p.cfg.OnStateWrite != nil {
		p.cfg.OnStateWrite(err)
	}
}

// writeState writes the snapshot (when it is not on disk) and then the pointer, and
// removes the environment's other snapshots.
func (p *Poller) writeState(served string) error {
	dir, env := p.cfg.StateDir, p.cfg.Environment
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("poller: writing the state: %w", err)
	}
	if p.state.snap != served {
		if p.state.unsaved == nil {
			return fmt.Errorf("poller: writing the state: the bytes of snapshot %s are not at hand", served)
		}
		if err := writeFileAtomic(dir, StateSnapshotFile(env, served), p.state.unsaved); err != nil {
			return err
		}
		p.state.snap = served
	}
	p.state.unsaved = nil
	if err := writeFileAtomic(dir, StatePointerFile(env), p.body); err != nil {
		return err
	}
	p.state.ptr = p.body
	snaps, err := filepath.Glob(filepath.Join(dir, StateSnapshotFile(env, "*")))
	if err != nil {
		return fmt.Errorf("poller: writing the state: %w", err)
	}
	for _, f := range snaps {
		if filepath.Base(f) != StateSnapshotFile(env, served) {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("poller: removing a snapshot no longer served: %w", err)
			}
		}
	}
	return nil
}

// writeFileAtomic writes data to dir/name through a temporary file in dir that is synced
// and renamed, then syncs dir: a crash leaves the old file or the new one.
func writeFileAtomic(dir, name string, data []byte) error {
	path := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("poller: writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("poller: writing %s: %w", path, err)
	}
	// The rename lasts once the directory is synced; some systems cannot sync a
	// directory, and the file itself is written either way.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// readFileLimit reads a file of at most limit bytes.
func readFileLimit(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}
