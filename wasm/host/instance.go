package host

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/tetratelabs/wazero/api"
)

// instance is one module instance with its exports resolved and a reusable call stack.
type instance struct {
	mod                                                           api.Module
	mem                                                           api.Memory
	buffer, loadFn, contextFn, evaluateFn, evaluateAllFn, ofrepFn api.Function
	stack                                                         [5]uint64
	scratch                                                       []byte             // an encoded context
	parsed                                                        *evaluator.Context // a JSON context, parsed on the way to scratch
	parser                                                        protocol.Parser
	gen                                                           uint64 // generation of the snapshot held, 0: none
	build                                                         protocol.ResultsBuilder

	// The module's input buffer, known from the last edgeflag_buffer call: its address
	// changes only when it grows, and after a load.
	inPtr, inCap uint32
}

func (e *Evaluator) instantiate() (*instance, error) {
	mod, err := e.runtime.InstantiateModule(e.ctx, e.compiled, e.modCfg)
	if err != nil {
		return nil, fmt.Errorf("edgeflag module: instantiate: %w", err)
	}
	in := &instance{
		mod:           mod,
		mem:           mod.Memory(),
		buffer:        mod.ExportedFunction("edgeflag_buffer"),
		loadFn:        mod.ExportedFunction("edgeflag_load"),
		contextFn:     mod.ExportedFunction("edgeflag_context"),
		evaluateFn:    mod.ExportedFunction("edgeflag_evaluate"),
		evaluateAllFn: mod.ExportedFunction("edgeflag_evaluate_all"),
		ofrepFn:       mod.ExportedFunction("edgeflag_ofrep"),
		scratch:       make([]byte, 0, 512),
		parsed:        evaluator.NewContext(),
	}
	if err := mod.ExportedFunction("edgeflag_abi").CallWithStack(e.ctx, in.stack[:]); err != nil {
		mod.Close(e.ctx)
		return nil, fmt.Errorf("edgeflag module: %w", err)
	}
	if v := uint32(in.stack[0]); v != protocol.ABIVersion {
		mod.Close(e.ctx)
		return nil, errors.New("edgeflag module: ABI version " + strconv.Itoa(int(v)) +
			", this host speaks " + strconv.Itoa(protocol.ABIVersion))
	}
	return in, nil
}

// write copies data into the module's input buffer, growing it when needed.
func (in *instance) write(ctx context.Context, data []byte) error {
	n := uint32(len(data))
	if n > in.inCap {
		in.stack[0] = uint64(n)
		if err := in.buffer.CallWithStack(ctx, in.stack[:]); err != nil {
			return fmt.Errorf("edgeflag module: %w", err)
		}
		if in.stack[0] == 0 {
			return errors.New("edgeflag module: input of " + strconv.Itoa(len(data)) + " bytes refused")
		}
		in.inPtr, in.inCap = uint32(in.stack[0]), n
	}
	if !in.mem.Write(in.inPtr, data) {
		return errors.New("edgeflag module: input buffer outside memory")
	}
	return nil
}

// writeString is write for a string (a flag key).
func (in *instance) writeString(ctx context.Context, s string) error {
	if uint32(len(s)) > in.inCap {
		return in.write(ctx, []byte(s))
	}
	if !in.mem.WriteString(in.inPtr, s) {
		return errors.New("edgeflag module: input buffer outside memory")
	}
	return nil
}

// output returns a view of the output the last call left in guest memory: valid until the
// next call into the instance.
func (in *instance) output() ([]byte, error) {
	packed := in.stack[0]
	out, ok := in.mem.Read(uint32(packed>>32), uint32(packed))
	if !ok {
		return nil, errors.New("edgeflag module: output outside memory")
	}
	return out, nil
}

func (in *instance) call(ctx context.Context, fn api.Function) ([]byte, error) {
	if err := fn.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, fmt.Errorf("edgeflag module: %w", err)
	}
	return in.output()
}

// load calls edgeflag_load with flags (protocol.LoadVerified or 0).
func (in *instance) load(ctx context.Context, data []byte, flags uint32) ([]byte, error) {
	if err := in.write(ctx, data); err != nil {
		return nil, err
	}
	in.stack[0], in.stack[1] = uint64(len(data)), uint64(flags)
	out, err := in.call(ctx, in.loadFn)
	// The module drops a large input buffer after a load: ask for its address again.
	in.inPtr, in.inCap = 0, 0
	return out, err
}

// setContext makes the encoded context the one the module evaluates. It returns nothing,
// or the module's error object for a context it refuses (which evaluations then report);
// the error is about running the module.
func (in *instance) setContext(ctx context.Context, encoded []byte) ([]byte, error) {
	if err := in.write(ctx, encoded); err != nil {
		return nil, err
	}
	in.stack[0] = uint64(len(encoded))
	return in.call(ctx, in.contextFn)
}

// evaluate evaluates one flag; the result is in guest memory.
func (in *instance) evaluate(ctx context.Context, key string, at int64, flags uint32) (protocol.Result, error) {
	if err := in.writeString(ctx, key); err != nil {
		return protocol.Result{}, err
	}
	in.stack = [5]uint64{uint64(len(key)), uint64(at), uint64(flags)}
	out, err := in.call(ctx, in.evaluateFn)
	if err != nil {
		return protocol.Result{}, err
	}
	res, err := readResults(out)
	if err != nil {
		return protocol.Result{}, err
	}
	r, ok := res.Next()
	if !ok {
		return r, errors.New("edgeflag module: unreadable results")
	}
	return r, nil
}

// evaluateJSON appends the JSON of one flag's result to dst.
func (in *instance) evaluateJSON(ctx context.Context, dst []byte, key string, at int64, flags uint32) ([]byte, error) {
	r, err := in.evaluate(ctx, key, at, flags)
	return append(dst, r.JSON...), err
}

func (in *instance) evaluateAll(ctx context.Context, at int64, flags uint32) ([]byte, error) {
	in.stack[0], in.stack[1] = uint64(at), uint64(flags)
	return in.call(ctx, in.evaluateAllFn)
}

// ofrep writes key, body and If-None-Match one after the other into the input buffer and
// answers the OFREP request; the answer is an OFREP frame in guest memory.
func (in *instance) ofrep(ctx context.Context, key string, body []byte, inm string, at int64, flags uint32) ([]byte, error) {
	total := len(key) + len(body) + len(inm)
	if uint32(total) > in.inCap {
		in.stack[0] = uint64(total)
		if err := in.buffer.CallWithStack(ctx, in.stack[:]); err != nil {
			return nil, fmt.Errorf("edgeflag module: %w", err)
		}
		if in.stack[0] == 0 {
			return nil, errors.New("edgeflag module: input of " + strconv.Itoa(total) + " bytes refused")
		}
		in.inPtr, in.inCap = uint32(in.stack[0]), uint32(total)
	}
	if !in.mem.WriteString(in.inPtr, key) || !in.mem.Write(in.inPtr+uint32(len(key)), body) ||
		!in.mem.WriteString(in.inPtr+uint32(len(key)+len(body)), inm) {
		return nil, errors.New("edgeflag module: input buffer outside memory")
	}
	in.stack = [5]uint64{uint64(len(key)), uint64(len(body)), uint64(len(inm)), uint64(at), uint64(flags)}
	return in.call(ctx, in.ofrepFn)
}
