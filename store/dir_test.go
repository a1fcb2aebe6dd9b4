package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/store"
)

// TestDirSharedAcrossInstances has two stores on one directory (as two processes would
// have) race on one object: the file lock alone must keep every increment.
func TestDirSharedAcrossInstances(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a, err := store.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	key := "production/kill-state.json"
	if _, err := a.Put(ctx, key, []byte("0"), store.PutOptions{IfAbsent: true}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 30 {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			for {
				obj, err := st.Get(ctx, key, store.GetOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				n, _ := strconv.Atoi(string(obj.Data))
				if _, err := st.Put(ctx, key, []byte(strconv.Itoa(n+1)), store.PutOptions{IfMatch: obj.ETag}); err == nil {
					return
				} else if !errors.Is(err, store.ErrPreconditionFailed) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	obj, err := b.Get(ctx, key, store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(obj.Data) != "30" {
		t.Errorf("counter = %s, want 30", obj.Data)
	}
}

// TestDirLeavesNoTemporaryFiles checks that writes clean up and that the store's own
// files are not listed as keys.
func TestDirLeavesNoTemporaryFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st, err := store.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := st.Put(ctx, "production/current.json", []byte(strconv.Itoa(i)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, "production"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "current.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files in production/: %v, want only current.json", names)
	}
	keys, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "production/current.json" {
		t.Errorf("List = %v, want only production/current.json (no lock file)", keys)
	}
}

func TestDirGetOfNonFileIsNotFound(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "production/audit/x.json", []byte("{}"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "production/audit", store.GetOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of a directory: err = %v, want ErrNotFound", err)
	}
	if _, err := st.Get(ctx, "production/audit/x.json/deeper", store.GetOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get below a file: err = %v, want ErrNotFound", err)
	}
}
