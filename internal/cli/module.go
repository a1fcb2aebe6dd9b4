package cli

import (
	"context"
	"flag"
	"os"
	"path/filepath"

	"github.com/edgeflag/edgeflag/internal/devstack"
)

// moduleFlags are the flags that choose the evaluator module and where wazero keeps its
// compiled code, shared by the commands that run the edge (dev and edge) so both find
// the module the same way.
type moduleFlags struct {
	wasm, cacheDir *string
}

// addModuleFlags defines --wasm and --cache-dir on fs.
func addModuleFlags(fs *flag.FlagSet) moduleFlags {
	return moduleFlags{
		wasm:     fs.String("wasm", "", "the evaluator module `file` (default: built from the sources, else "+devstack.DefaultModuleFile+")"),
		cacheDir: fs.String("cache-dir", "", "keep wazero's compiled code in this `directory` (default: the user cache directory)"),
	}
}

// load finds the module as devstack.LoadModule does: --wasm, else built from the sources
// when run inside the edgeflag checkout, else bin/edgeflag.wasm.
func (m moduleFlags) load(ctx context.Context, r *runner) (*devstack.Module, error) {
	return devstack.LoadModule(ctx, r.path(*m.wasm))
}

// cache returns the directory wazero's compilation cache lives in: --cache-dir, else
// edgeflag/wazero in the user cache directory, else "" (no disk cache).
func (m moduleFlags) cache(r *runner) string {
	if *m.cacheDir != "" {
		return r.path(*m.cacheDir)
	}
	if base, err := os.UserCacheDir(); err == nil {
		return filepath.Join(base, "edgeflag", "wazero")
	}
	return ""
}
