package instrument

import (
	"net/http"
	"strings"
)

// HeaderPrefix starts the name of the request headers the edges add for the origin:
// x-flag-<flag key>: <variant>, one per flag that evaluated without error. Header names
// are case-insensitive (Go's server canonicalizes them to X-Flag-New-Checkout); flag keys
// are lower case, so the key is the rest of the name in lower case.
const HeaderPrefix = "x-flag-"

// maxNameLen is the longest flag key or variant name edgeflag accepts (schema/edgeflag.schema.json).
const maxNameLen = 200

// validFlagKey reports whether s is an edgeflag flag key: lower-case letters, digits,
// '.', '_' and '-', starting with a letter or digit, at most 200 bytes.
func validFlagKey(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validVariant reports whether s is an edgeflag variant name: letters, digits, '.', '_'
// and '-', starting with a letter or digit, at most 200 bytes.
func validVariant(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// headerFlag returns the flag key of header name, and whether name is an x-flag-*
// header at all. The key is not validated.
func headerFlag(name string) (string, bool) {
	if len(name) <= len(HeaderPrefix) || !strings.EqualFold(name[:len(HeaderPrefix)], HeaderPrefix) {
		return "", false
	}
	return lowerASCII(name[len(HeaderPrefix):]), true
}

// lowerASCII returns s with ASCII letters in lower case, without allocating when s has
// no upper-case letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// variant is one flag's variant for a request.
type variant struct {
	flag, variant string
}

// parseHeaders appends to dst the variants of the x-flag-* headers of h, and returns it
// with the number of x-flag-* headers that were not a valid flag key and variant name.
// A header given several times counts with its first value, as http.Header.Get reads it.
func parseHeaders(h http.Header, dst []variant) ([]variant, int) {
	invalid := 0
	for name, values := range h {
		flag, ok := headerFlag(name)
		if !ok {
			continue
		}
		v := ""
		if len(values) > 0 {
			v = values[0]
		}
		if !validFlagKey(flag) || !validVariant(v) {
			invalid++
			continue
		}
		dst = append(dst, variant{flag, v})
	}
	return dst, invalid
}
