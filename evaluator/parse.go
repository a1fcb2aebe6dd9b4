package evaluator

import (
	"strconv"
)

// ContextError reports a context that could not be used: Code is PARSE_ERROR for
// malformed input and INVALID_CONTEXT for input that is not a usable context (the binary
// context encoding's decoder, protocol.ContextDecoder, returns it). JSON contexts are
// read by protocol.Parser, which reports a *protocol.Error.
type ContextError struct {
	Code   ErrorCode
	Offset int
	Reason string
}

func (e *ContextError) Error() string {
	return "context: " + e.Reason + " at byte " + strconv.Itoa(e.Offset)
}
