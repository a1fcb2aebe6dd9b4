package host

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/edgeflag/edgeflag/wasm/wire"
	"github.com/tetratelabs/wazero/api"
)

// instance is one module instance with its exports resolved and a reusable call stack.
type instance struct {
	mod                                       api.Module
	mem                                       api.Memory
	buffer, loadFn, evaluateFn, evaluateAllFn api.Function
	stack                                     [4]uint64
	scratch                                   []byte // an encoded context
	gen                                       uint64 // generation of the snapshot held, 0: none
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
		evaluateFn:    mod.ExportedFunction("edgeflag_evaluate"),
		evaluateAllFn: mod.ExportedFunction("edgeflag_evaluate_all"),
		scratch:       make([]byte, 0, 512),
	}
	if err := mod.ExportedFunction("edgeflag_abi").CallWithStack(e.ctx, in.stack[:]); err != nil {
		mod.Close(e.ctx)
		return nil, fmt.Errorf("edgeflag module: %w", err)
	}
	if v := uint32(in.stack[0]); v != wire.ABIVersion {
		mod.Close(e.ctx)
		return nil, errors.New("edgeflag module: ABI version " + strconv.Itoa(int(v)) +
			", this host speaks " + strconv.Itoa(wire.ABIVersion))
	}
	return in, nil
}

// input reserves n bytes of the module's input buffer and returns their address.
func (in *instance) input(ctx context.Context, n int) (uint32, error) {
	in.stack[0] = uint64(n)
	if err := in.buffer.CallWithStack(ctx, in.stack[:]); err != nil {
		return 0, fmt.Errorf("edgeflag module: %w", err)
	}
	ptr := uint32(in.stack[0])
	if ptr == 0 {
		return 0, errors.New("edgeflag module: input of " + strconv.Itoa(n) + " bytes refused")
	}
	return ptr, nil
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

func (in *instance) load(ctx context.Context, data []byte) ([]byte, error) {
	ptr, err := in.input(ctx, len(data))
	if err != nil {
		return nil, err
	}
	in.mem.Write(ptr, data)
	in.stack[0] = uint64(len(data))
	if err := in.loadFn.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, fmt.Errorf("edgeflag module: %w", err)
	}
	return in.output()
}

func (in *instance) evaluate(ctx context.Context, key string, encoded []byte, at int64, flags uint32) ([]byte, error) {
	ptr, err := in.input(ctx, len(key)+len(encoded))
	if err != nil {
		return nil, err
	}
	in.mem.WriteString(ptr, key)
	in.mem.Write(ptr+uint32(len(key)), encoded)
	in.stack = [4]uint64{uint64(len(key)), uint64(len(encoded)), uint64(at), uint64(flags)}
	if err := in.evaluateFn.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, fmt.Errorf("edgeflag module: %w", err)
	}
	return in.output()
}

func (in *instance) evaluateAll(ctx context.Context, encoded []byte, at int64, flags uint32) ([]byte, error) {
	ptr, err := in.input(ctx, len(encoded))
	if err != nil {
		return nil, err
	}
	in.mem.Write(ptr, encoded)
	in.stack[0], in.stack[1], in.stack[2] = uint64(len(encoded)), uint64(at), uint64(flags)
	if err := in.evaluateAllFn.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, fmt.Errorf("edgeflag module: %w", err)
	}
	return in.output()
}
