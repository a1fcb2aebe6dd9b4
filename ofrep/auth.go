package ofrep

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// Errors an Options.Authenticate function returns to refuse a request.
var (
	// ErrUnauthorized answers 401: credentials are missing, invalid or expired.
	ErrUnauthorized = errors.New("ofrep: unauthorized")
	// ErrForbidden answers 403: the credentials are valid but may not evaluate flags here.
	ErrForbidden = errors.New("ofrep: forbidden")
)

// APIKeys returns an Options.Authenticate function that accepts a request carrying one of
// keys, either as "X-API-Key: <key>" or as "Authorization: Bearer <key>" — the two schemes
// of the OFREP specification. Anything else is ErrUnauthorized. With no keys every request
// is refused.
func APIKeys(keys ...string) func(*http.Request) error {
	accepted := make([][]byte, 0, len(keys))
	for _, k := range keys {
		if k != "" {
			accepted = append(accepted, []byte(k))
		}
	}
	return func(r *http.Request) error {
		given := r.Header.Get("X-API-Key")
		if given == "" {
			auth := r.Header.Get("Authorization")
			scheme, token, ok := strings.Cut(auth, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return ErrUnauthorized
			}
			given = strings.TrimSpace(token)
		}
		if given == "" {
			return ErrUnauthorized
		}
		ok := 0
		for _, k := range accepted {
			ok |= subtle.ConstantTimeCompare(k, []byte(given))
		}
		if ok == 0 {
			return ErrUnauthorized
		}
		return nil
	}
}
