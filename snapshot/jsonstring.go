package snapshot

import "unicode/utf8"

// AppendJSONString appends s as a JSON string: '"', '\\' and control characters escaped,
// invalid UTF-8 replaced by \ufffd so that the output is always valid JSON, everything
// else copied as it is. It is the one JSON string writer of edgeflag: the evaluator, the
// OFREP protocol, the WASM module and the hosts all write strings with it, and messages
// quote names with it.
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				start = i + 1
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		i++
		start = i
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// quote returns s as a JSON string, for messages.
//
//go:noinline
func quote(s string) string { return string(AppendJSONString(nil, s)) }
