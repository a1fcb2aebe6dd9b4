package tests

import (
	"path/filepath"
	"strings"
	"testing"
)

// edgeWasiClockScript reads the WASI shim's two clocks, sets the wall clock back an hour
// and reads them again.
const edgeWasiClockScript = `
const { wasiImports } = await import(process.env.EDGEFLAG_SHIM);
const memory = new WebAssembly.Memory({ initial: 1 });
const wasi = wasiImports(() => memory);
const read = (id) => (wasi.clock_time_get(id, 0n, 8), new DataView(memory.buffer).getBigUint64(8, true));
const before = [read(0), read(1)];
const now = Date.now;
Date.now = () => now() - 3600000;
const after = [read(0), read(1)];
process.stdout.write([after[0] < before[0], after[1] >= before[1], after[1] - before[1] < 1000000000n].join(" "));
`

// TestEdgeWasiClocks holds the WASI shim's monotonic clock (id 1), which the Go runtime
// expects never to go back, apart from the wall clock (id 0), which may.
func TestEdgeWasiClocks(t *testing.T) {
	out := edgeNodeScriptEnv(t, edgeWasiClockScript, "EDGEFLAG_SHIM="+filepath.Join(edgeRoot(t), "edge/shared/wasi.mjs"))
	if got := strings.TrimSpace(string(out)); got != "true true true" {
		t.Fatalf("wall clock went back, monotonic clock did not, and moved less than 1 s: %s, want true true true", got)
	}
}
