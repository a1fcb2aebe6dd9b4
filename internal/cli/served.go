package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// servedSnapshot is what a store serves an environment now: the snapshot its pointer
// names (the base with the kill switches applied), as edges load it.
type servedSnapshot struct {
	data    []byte
	pointer *publish.Pointer
}

// readServed opens the store at location (a directory or s3://bucket/prefix, as given on
// the command line) and reads the snapshot the environment's pointer names. found is false,
// with a nil error, when nothing was published to the environment.
func (r *runner) readServed(location, env string) (s *servedSnapshot, found bool, err error) {
	loc := location
	if !strings.Contains(loc, "://") {
		loc = r.path(loc)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, loc)
	if err != nil {
		return nil, false, err
	}
	ptr, _, err := publish.ReadPointer(ctx, st, env)
	if errors.Is(err, publish.ErrUnknownEnvironment) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	obj, err := st.Get(ctx, layout.SnapshotKey(ptr.Snapshot), store.GetOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("%s: read the snapshot %s served to %s: %w", location, ptr.Snapshot, env, err)
	}
	return &servedSnapshot{data: obj.Data, pointer: ptr}, true, nil
}

// mustReadServed is readServed with an error when nothing was published to env.
func (r *runner) mustReadServed(location, env string) (*servedSnapshot, error) {
	s, found, err := r.readServed(location, env)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s serves nothing to %q: nothing was published to it", location, env)
	}
	return s, nil
}
