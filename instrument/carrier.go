package instrument

import (
	"context"
	"sync"
)

// carrierKey is the context key of the request's *carrier.
type carrierKey struct{}

// carrier collects the variants evaluated in process while a request is handled. It is
// safe for concurrent use: a handler may evaluate flags in several goroutines.
type carrier struct {
	mu       sync.Mutex
	limit    int // distinct flags kept; more are counted in overflow
	variants []variant
	invalid  int // RecordVariant calls with an invalid flag key or variant name
	overflow int // distinct flags past limit
}

// carrierFrom returns the carrier of ctx, or nil.
func carrierFrom(ctx context.Context) *carrier {
	c, _ := ctx.Value(carrierKey{}).(*carrier)
	return c
}

// RecordVariant records that the request whose context is ctx was served variant of
// flag, for Metrics.Wrap to label the request's metrics with. It reports whether it was
// recorded: false when ctx does not descend from the context Wrap gave the handler, when
// flag is not an edgeflag flag key or variant not a variant name (letters, digits, '.',
// '_', '-', at most 200 bytes; keys in lower case), or when the request already has
// Options.MaxFlagsPerRequest flags. Recording a flag again replaces its variant.
//
// Hook calls it after every successful evaluation; applications that learn variants
// another way call it themselves.
func RecordVariant(ctx context.Context, flag, variantName string) bool {
	c := carrierFrom(ctx)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !validFlagKey(flag) || !validVariant(variantName) {
		c.invalid++
		return false
	}
	for i := range c.variants {
		if c.variants[i].flag == flag {
			c.variants[i].variant = variantName
			return true
		}
	}
	if len(c.variants) >= c.limit {
		c.overflow++
		return false
	}
	c.variants = append(c.variants, variant{flag, variantName})
	return true
}

// appendTo appends the carrier's variants to dst and returns it with the counts of
// invalid and overflowing records. The carrier keeps them: nested middlewares share it.
func (c *carrier) appendTo(dst []variant) ([]variant, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(dst, c.variants...), c.invalid, c.overflow
}
