// Package host runs the edgeflag WASM evaluator module (package wasm/guest) under wazero,
// with the shape of the native evaluator: load a snapshot, evaluate one flag, some flags or
// all flags for a context at a time.
//
// The module is compiled once (through a compilation cache on disk when Config.CacheDir is
// set) and instantiated into a pool, because one instance must never be called
// concurrently. Results come back as the JSON that evaluator.Result.AppendJSON writes
// (Evaluate, EvaluateFlags, EvaluateAll), or as the module's results frame (Results: that
// JSON and each result's key and variant, for hosts that must not read JSON), appended to
// a caller's buffer, so a call does not allocate once the buffers are warm.
// Load verifies a snapshot in one instance and then swaps it into every instance: a call
// that starts after Load returns sees the new snapshot. The snapshot's content hash is
// computed once per Load (none with LoadVerified, for bytes the caller has verified, as
// the poller does); the other instances decode it without hashing it again. An instance whose call fails (a
// trap, the guest running out of memory) is discarded and a fresh one takes its place.
package host

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Config tunes an Evaluator. The zero value works.
type Config struct {
	// CacheDir keeps compiled machine code between processes: compiling the module takes
	// about 0.9 s cold and about 40 ms from the cache. Empty: no disk cache.
	CacheDir string
	// Instances bounds the pool; calls beyond it wait for an idle instance.
	// 0 means runtime.GOMAXPROCS(0).
	Instances int
	// MemoryLimitPages caps each instance's linear memory in 64 KiB pages (0: wazero's
	// default of 4 GiB). Budget about three times the snapshot size plus 8 MiB.
	MemoryLimitPages uint32
	// Stderr receives what the guest writes to standard error, such as a Go runtime
	// crash report. Nil discards it.
	Stderr io.Writer
}

// SnapshotInfo describes the snapshot an Evaluator serves.
type SnapshotInfo = protocol.LoadInfo

// GuestError is an error the module reported, with an OpenFeature error code.
type GuestError struct {
	Code    evaluator.ErrorCode
	Message string
}

func (e *GuestError) Error() string { return "edgeflag module: " + string(e.Code) + ": " + e.Message }

// ErrClosed is returned by calls on a closed Evaluator.
var ErrClosed = errors.New("edgeflag module: evaluator closed")

// Evaluator evaluates flags with a pool of module instances. It is safe for concurrent
// use.
type Evaluator struct {
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	ctx      context.Context

	idle  chan *instance
	slots chan struct{} // one token per live instance

	loadMu sync.Mutex // serializes Load
	snap   atomic.Pointer[loaded]
	stale  atomic.Bool

	closed        atomic.Bool
	discarded     atomic.Uint64
	verifications atomic.Uint64
}

// loaded is the snapshot every instance must hold.
type loaded struct {
	data []byte
	gen  uint64
	info SnapshotInfo
}

// New compiles the module and returns an evaluator with no snapshot loaded (every
// evaluation reports a GENERAL error until Load). It instantiates one instance to check
// the module's ABI version.
func New(ctx context.Context, wasm []byte, cfg Config) (*Evaluator, error) {
	rcfg := wazero.NewRuntimeConfig()
	if cfg.MemoryLimitPages > 0 {
		rcfg = rcfg.WithMemoryLimitPages(cfg.MemoryLimitPages)
	}
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, errors.New("edgeflag module: compilation cache: " + err.Error())
		}
		rcfg = rcfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rcfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, errors.New("edgeflag module: compile: " + err.Error())
	}
	for _, name := range []string{"edgeflag_abi", "edgeflag_buffer", "edgeflag_load", "edgeflag_context", "edgeflag_evaluate", "edgeflag_evaluate_all", "edgeflag_ofrep", "_initialize"} {
		if _, ok := compiled.ExportedFunctions()[name]; !ok {
			rt.Close(ctx)
			return nil, errors.New("edgeflag module: not an edgeflag module: no export " + name)
		}
	}
	stderr := cfg.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	n := cfg.Instances
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	e := &Evaluator{
		runtime:  rt,
		compiled: compiled,
		modCfg:   wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize").WithStderr(stderr),
		ctx:      context.Background(),
		idle:     make(chan *instance, n),
		slots:    make(chan struct{}, n),
	}
	in, err := e.acquire()
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	e.release(in)
	return e, nil
}

// Close releases every instance and the compiled module. Calls in flight may fail.
func (e *Evaluator) Close(ctx context.Context) error {
	if e.closed.Swap(true) {
		return nil
	}
	return e.runtime.Close(ctx)
}

// Load verifies and decodes an encoded snapshot in the module and makes it the snapshot
// of every instance. A snapshot that fails to load leaves the current one in place and
// returns a *GuestError (PARSE_ERROR for a corrupt or unsupported snapshot).
func (e *Evaluator) Load(data []byte) (SnapshotInfo, error) {
	return e.load(data, 0)
}

// LoadVerified is Load for a snapshot whose content hash the caller has verified (as
// poller.Poller does before its Apply): the module decodes and validates it without
// hashing it again. Bytes nobody verified go through Load.
func (e *Evaluator) LoadVerified(data []byte) (SnapshotInfo, error) {
	return e.load(data, protocol.LoadVerified)
}

// load is Load with edgeflag_load's flags for the first instance; the others are brought
// up to date with the snapshot verified.
func (e *Evaluator) load(data []byte, flags uint32) (SnapshotInfo, error) {
	if len(data) > protocol.MaxSnapshotSize {
		return SnapshotInfo{}, &GuestError{Code: evaluator.ErrParse,
			Message: "snapshot larger than the limit of " + strconv.Itoa(protocol.MaxSnapshotSize) + " bytes"}
	}
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	in, err := e.acquire()
	if err != nil {
		return SnapshotInfo{}, err
	}
	if flags&protocol.LoadVerified == 0 {
		e.verifications.Add(1)
	}
	out, err := in.load(e.ctx, data, flags)
	if err != nil {
		e.discard(in)
		return SnapshotInfo{}, err
	}
	info, err := decodeLoad(out)
	if err != nil {
		// The instance keeps its previous snapshot: the module swaps only on success.
		e.release(in)
		return SnapshotInfo{}, err
	}
	next := &loaded{data: append([]byte(nil), data...), info: info, gen: 1}
	if cur := e.snap.Load(); cur != nil {
		next.gen = cur.gen + 1
	}
	in.gen = next.gen
	e.snap.Store(next)
	e.release(in)
	// Bring idle instances up to date now rather than on their next call.
	for range len(e.idle) {
		select {
		case in := <-e.idle:
			if err := e.sync(in); err != nil {
				e.discard(in)
				continue
			}
			e.release(in)
		default:
		}
	}
	return info, nil
}

// Snapshot describes the snapshot in use; ok is false before the first successful Load.
func (e *Evaluator) Snapshot() (info SnapshotInfo, ok bool) {
	if s := e.snap.Load(); s != nil {
		return s.info, true
	}
	return SnapshotInfo{}, false
}

// SetStale marks every later result STALE (errors excepted) while stale is true: the host
// is serving a snapshot it could not refresh within its grace period.
func (e *Evaluator) SetStale(stale bool) { e.stale.Store(stale) }

// Evaluate appends to dst the JSON result of flag key for ctx at time at.
// The error is non-nil only when the module could not be run; flag-level problems
// (unknown flag, missing targeting key...) are error results in the JSON.
func (e *Evaluator) Evaluate(dst []byte, key string, ctx *evaluator.Context, at time.Time) ([]byte, error) {
	return e.call(dst, callOne, key, nil, ctx, nil, at)
}

// EvaluateFlags appends to dst {"flags":[...]}: the JSON results of the flags keys, in that
// order, for ctx at time at. The context crosses into the module once for all of them,
// which makes it the cheapest way to evaluate several flags for one request.
func (e *Evaluator) EvaluateFlags(dst []byte, keys []string, ctx *evaluator.Context, at time.Time) ([]byte, error) {
	return e.call(dst, callFlags, "", keys, ctx, nil, at)
}

// EvaluateAll appends to dst {"flags":[...]}: the JSON results of every flag, in key
// order, for ctx at time at.
func (e *Evaluator) EvaluateAll(dst []byte, ctx *evaluator.Context, at time.Time) ([]byte, error) {
	return e.call(dst, callAll, "", nil, ctx, nil, at)
}

// EvaluateEncoded is Evaluate for a context already encoded as JSON (an OFREP request's
// context, say) or in the binary encoding of package protocol. A malformed context yields a
// PARSE_ERROR or INVALID_CONTEXT result. A JSON context is read here by protocol.Parser,
// as every runtime reads an OFREP context (nested objects flattened with dots,
// targetingKey also set as userId, an attribute given twice refused), and crosses into
// the module in the binary encoding.
func (e *Evaluator) EvaluateEncoded(dst []byte, key string, context []byte, at time.Time) ([]byte, error) {
	return e.call(dst, callOne, key, nil, nil, context, at)
}

// EvaluateAllEncoded is EvaluateAll for an encoded context.
func (e *Evaluator) EvaluateAllEncoded(dst []byte, context []byte, at time.Time) ([]byte, error) {
	return e.call(dst, callAll, "", nil, nil, context, at)
}

// OFREP answers an OFREP request in the module, with package protocol: the same answer as
// the native handler's for the same snapshot, request and time. The response body is
// appended to dst (Response.Body is the extended dst, its ETag follows it in the same
// buffer). req.Reasons, req.BodyError and the Evaluator's stale mode (SetStale) are passed
// on; a body over protocol.DefaultMaxBodyBytes is refused. The error is non-nil only when
// the module could not be run.
func (e *Evaluator) OFREP(dst []byte, req *protocol.Request) (protocol.Response, error) {
	in, err := e.acquireCurrent()
	if err != nil {
		return protocol.Response{}, err
	}
	flags := uint32(0)
	if e.stale.Load() || req.Stale {
		flags |= protocol.FlagStale
	}
	if req.Bulk {
		flags |= protocol.FlagBulk
	}
	if req.Reasons == protocol.OpenFeatureReasons {
		flags |= protocol.FlagOpenFeatureReasons
	}
	key, body := req.Key, req.Body
	switch {
	case req.BodyError != nil && req.BodyError.Code == evaluator.ErrGeneral:
		flags |= protocol.FlagBodyUnavailable
		body = []byte(req.BodyError.Details)
	case req.BodyError != nil && req.BodyError.Code == evaluator.ErrInvalidContext:
		flags |= protocol.FlagBodyTooLarge
		body = []byte(req.BodyError.Details)
	case req.BodyError != nil:
		flags |= protocol.FlagBodyUnreadable
		body = []byte(req.BodyError.Details)
	case len(body) > protocol.DefaultMaxBodyBytes:
		flags |= protocol.FlagBodyTooLarge
		body = []byte(protocol.BodyTooLarge(protocol.DefaultMaxBodyBytes).Details)
	}
	out, err := in.ofrep(e.ctx, key, body, req.IfNoneMatch, req.At, flags)
	if err != nil {
		e.discard(in)
		return protocol.Response{}, err
	}
	res, ok := protocol.ReadOFREPFrame(out)
	if !ok {
		e.release(in)
		return protocol.Response{}, errors.New("edgeflag module: unreadable OFREP answer")
	}
	// Copy out of guest memory before the instance goes back to the pool.
	n := len(dst)
	dst = append(dst, res.Body...)
	dst = append(dst, res.ETag...)
	e.release(in)
	res.Body = dst[:n+len(res.Body)]
	if res.ETag != nil {
		res.ETag = dst[n+len(res.Body):]
	}
	return res, nil
}

// Stats reports on the pool.
type Stats struct {
	Instances int    // live instances
	Idle      int    // of which idle
	Discarded uint64 // instances discarded after a failed call
	// Verifications counts the snapshots the module hashed to verify them: one per Load,
	// none per LoadVerified, none for bringing the other instances up to date.
	Verifications uint64
}

// Stats returns the pool's current numbers.
func (e *Evaluator) Stats() Stats {
	return Stats{Instances: len(e.slots), Idle: len(e.idle), Discarded: e.discarded.Load(), Verifications: e.verifications.Load()}
}

// What a call evaluates.
const (
	callOne   = iota // one flag: a result
	callFlags        // the flags listed: {"flags":[...]}
	callAll          // every flag: {"flags":[...]}
)

func (e *Evaluator) call(dst []byte, what int, key string, keys []string, ctx *evaluator.Context, encoded []byte, at time.Time) ([]byte, error) {
	in, err := e.acquireCurrent()
	if err != nil {
		return dst, err
	}
	var flags uint32
	if e.stale.Load() {
		flags |= protocol.FlagStale
	}
	switch {
	case ctx != nil:
		in.scratch = protocol.AppendContext(in.scratch[:0], ctx)
		encoded = in.scratch
	case len(encoded) > protocol.MaxContextSize:
		// The module answers INVALID_CONTEXT from the length alone.
		encoded = encoded[:protocol.MaxContextSize+1]
	case len(encoded) > 0 && encoded[0] != protocol.Marker:
		if err := in.parser.ParseContext(encoded, in.parsed); err != nil {
			if out, ok := e.contextError(dst, what, key, err); ok {
				e.release(in)
				return out, nil
			}
			in.parsed.Reset() // the module reports something else first
		}
		in.scratch = protocol.AppendContext(in.scratch[:0], in.parsed)
		encoded = in.scratch
	}
	out, err := e.run(in, dst, what, key, keys, encoded, at.UnixMilli(), flags)
	if err != nil {
		e.discard(in)
		return dst, err
	}
	e.release(in)
	return out, nil
}

// run sets the context in the module and evaluates, appending the output to dst as JSON.
func (e *Evaluator) run(in *instance, dst []byte, what int, key string, keys []string, encoded []byte, at int64, flags uint32) ([]byte, error) {
	refused, err := in.setContext(e.ctx, encoded)
	if err != nil {
		return dst, err
	}
	switch what {
	case callAll:
		out, err := in.evaluateAll(e.ctx, at, flags)
		if err != nil {
			return dst, err
		}
		res, err := readResults(out)
		if err != nil || res.Refused {
			return append(dst, res.JSON...), err // the module's error object
		}
		dst = append(dst, `{"flags":[`...)
		dst = append(dst, res.JSON...)
		return append(dst, "]}"...), nil
	case callOne:
		return in.evaluateJSON(e.ctx, dst, clipKey(key), at, flags)
	}
	if len(refused) > 0 {
		return append(dst, refused...), nil // the module's error object
	}
	dst = append(dst, `{"flags":[`...)
	for i, key := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = in.evaluateJSON(e.ctx, dst, clipKey(key), at, flags); err != nil {
			return dst, err
		}
	}
	return append(dst, "]}"...), nil
}

// Results appends to dst a results frame (protocol.ReadResults) of every flag, in key
// order, when keys is nil, or else of the flags keys in that order, for ctx at time at:
// the results' JSON and, for each, its key and variant, which a host reads without
// reading JSON. With stale set (or the Evaluator in stale mode, SetStale), successful
// results report reason STALE. A context the module refuses gives a frame refusing every
// flag, or an error result for each of keys. The error is non-nil only when the module
// could not be run.
func (e *Evaluator) Results(dst []byte, keys []string, ctx *evaluator.Context, at time.Time, stale bool) ([]byte, error) {
	in, err := e.acquireCurrent()
	if err != nil {
		return dst, err
	}
	var flags uint32
	if stale || e.stale.Load() {
		flags |= protocol.FlagStale
	}
	in.scratch = protocol.AppendContext(in.scratch[:0], ctx)
	out, err := e.results(in, dst, keys, at.UnixMilli(), flags)
	if err != nil {
		e.discard(in)
		return dst, err
	}
	e.release(in)
	return out, nil
}

func (e *Evaluator) results(in *instance, dst []byte, keys []string, at int64, flags uint32) ([]byte, error) {
	if _, err := in.setContext(e.ctx, in.scratch); err != nil {
		return dst, err
	}
	if keys == nil {
		out, err := in.evaluateAll(e.ctx, at, flags)
		if err != nil {
			return dst, err
		}
		return append(dst, out...), nil
	}
	in.build.Begin(dst)
	for _, key := range keys {
		r, err := in.evaluate(e.ctx, clipKey(key), at, flags)
		if err != nil {
			return dst, err
		}
		// The module reports a key over its limit shortened; the frame has the key asked.
		in.build.Add(append(in.build.Next(), r.JSON...), key, r.Variant, r.OK)
	}
	return in.build.Finish(), nil
}

// readResults reads a results frame of the module.
func readResults(out []byte) (protocol.Results, error) {
	res, ok := protocol.ReadResults(out)
	if !ok {
		return res, errors.New("edgeflag module: unreadable results")
	}
	return res, nil
}

// clipKey shortens a key over the module's limit to one byte over it: the module answers
// FLAG_NOT_FOUND from the length alone.
func clipKey(key string) string {
	if len(key) > protocol.MaxKeySize {
		return key[:protocol.MaxKeySize+1]
	}
	return key
}

// contextError writes what the module would answer for a context it refuses, for a JSON
// context refused here, unless the module would report another problem first (a key over
// the limit, no snapshot loaded for every flag); ok is false then.
func (e *Evaluator) contextError(dst []byte, what int, key string, ce *protocol.Error) (out []byte, ok bool) {
	switch {
	case what == callOne && len(key) > protocol.MaxKeySize, what == callAll && e.snap.Load() == nil:
		return dst, false
	case what == callOne:
		return evaluator.AppendErrorResultJSON(dst, key, ce.Code, ce.Details), true
	}
	return evaluator.AppendErrorJSON(dst, ce.Code, ce.Details), true
}

// acquire returns an idle instance, a new one while the pool has room, or waits.
func (e *Evaluator) acquire() (*instance, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	select {
	case in := <-e.idle:
		return in, nil
	default:
	}
	select {
	case in := <-e.idle:
		return in, nil
	case e.slots <- struct{}{}:
		in, err := e.instantiate()
		if err != nil {
			<-e.slots
			return nil, err
		}
		return in, nil
	}
}

func (e *Evaluator) release(in *instance) {
	if e.closed.Load() {
		in.mod.Close(e.ctx)
		<-e.slots
		return
	}
	e.idle <- in
}

// discard drops an instance whose call failed; its slot goes to a fresh instance.
func (e *Evaluator) discard(in *instance) {
	in.mod.Close(e.ctx)
	e.discarded.Add(1)
	<-e.slots
}

// acquireCurrent returns an instance (acquire) holding the current snapshot (sync); an
// instance that fails to load it is discarded.
func (e *Evaluator) acquireCurrent() (*instance, error) {
	in, err := e.acquire()
	if err != nil {
		return nil, err
	}
	if err := e.sync(in); err != nil {
		e.discard(in)
		return nil, err
	}
	return in, nil
}

// sync loads the current snapshot into in if it holds an older one.
func (e *Evaluator) sync(in *instance) error {
	cur := e.snap.Load()
	if cur == nil || in.gen == cur.gen {
		return nil
	}
	// cur was verified when it was loaded: by the first instance, or by Load's caller.
	out, err := in.load(e.ctx, cur.data, protocol.LoadVerified)
	if err != nil {
		return err
	}
	if _, err := decodeLoad(out); err != nil {
		return err
	}
	in.gen = cur.gen
	return nil
}

// decodeLoad reads the module's answer to a load.
func decodeLoad(out []byte) (SnapshotInfo, error) {
	info, refused, ok := protocol.ReadLoadFrame(out)
	switch {
	case !ok:
		return info, errors.New("edgeflag module: unreadable answer to a load")
	case refused != nil:
		return info, &GuestError{Code: refused.Code, Message: refused.Details}
	}
	return info, nil
}
