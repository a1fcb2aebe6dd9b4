package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// CookieName is the session cookie's name.
const CookieName = "edgeflag_session"

// maxNameLength bounds the name given at login.
const maxNameLength = 64

// session is an authenticated browser (or bearer / IAM caller).
type session struct {
	Write bool   // full access; false: read-only
	Who   string // for the audit trail and the page header
	nonce string // the session's random id; "" for a bearer or IAM caller (no CSRF token)
	key   []byte // the HMAC key of the token the session was made with
}

// CSRF returns the session's CSRF token: an HMAC of its id, "" when it has no cookie.
func (s *session) CSRF() string {
	if s.nonce == "" {
		return ""
	}
	return sign(s.key, "csrf\x00"+s.nonce)
}

// sessionKey derives the HMAC key of sessions made with a token: rotating the token ends
// every session made with the old one.
func sessionKey(token string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("edgeflag-dashboard-session-v1"))
	return m.Sum(nil)
}

func sign(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// access is the level a token gives.
type access struct {
	write bool
	key   []byte
}

// tokenAccess returns the access of a presented token, or ok false.
func (h *Handler) tokenAccess(tok string) (a access, ok bool) {
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return a, false
	}
	if h.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(h.cfg.Token)) == 1 {
		return access{write: true, key: sessionKey(h.cfg.Token)}, true
	}
	if h.cfg.ReadOnlyToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(h.cfg.ReadOnlyToken)) == 1 {
		return access{write: false, key: sessionKey(h.cfg.ReadOnlyToken)}, true
	}
	return a, false
}

// who names a dashboard caller in the audit trail.
func (h *Handler) who(write bool, name string) string {
	who := h.cfg.TokenActor
	if !write {
		who += " (read-only)"
	}
	who += " via dashboard"
	if name != "" {
		who += ": " + name
	}
	return who
}

// newCookie makes the cookie value of a new session:
// base64url("v1|rw|<expiry unix>|<nonce>|<name base64url>") "." signature.
func newCookie(a access, name string, expires time.Time) string {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	mode := "ro"
	if a.write {
		mode = "rw"
	}
	payload := strings.Join([]string{"v1", mode, strconv.FormatInt(expires.Unix(), 10), hex.EncodeToString(nonce[:]),
		base64.RawURLEncoding.EncodeToString([]byte(name))}, "|")
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + sign(a.key, payload)
}

// parseCookie checks a session cookie against the keys of the configured tokens.
func (h *Handler) parseCookie(value string, now time.Time) *session {
	enc, sig, ok := strings.Cut(value, ".")
	if !ok {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil
	}
	payload := string(raw)
	f := strings.Split(payload, "|")
	if len(f) != 5 || f[0] != "v1" || (f[1] != "rw" && f[1] != "ro") {
		return nil
	}
	tok := h.cfg.ReadOnlyToken
	if f[1] == "rw" {
		tok = h.cfg.Token
	}
	if tok == "" {
		return nil
	}
	key := sessionKey(tok)
	if !hmac.Equal([]byte(sig), []byte(sign(key, payload))) {
		return nil
	}
	exp, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return nil
	}
	name, err := base64.RawURLEncoding.DecodeString(f[4])
	if err != nil {
		return nil
	}
	write := f[1] == "rw"
	return &session{Write: write, Who: h.who(write, string(name)), nonce: f[3], key: key}
}

// authenticate returns the request's session: a valid cookie, an IAM caller the host
// vouches for, or (for reading only) a bearer token. nil: not authenticated.
func (h *Handler) authenticate(r *http.Request) *session {
	if h.cfg.Caller != nil {
		if arn := h.cfg.Caller(r); arn != "" {
			return &session{Write: true, Who: arn}
		}
	}
	if c, err := r.Cookie(CookieName); err == nil {
		if s := h.parseCookie(c.Value, h.cfg.Now()); s != nil {
			return s
		}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			if a, ok := h.tokenAccess(tok); ok {
				return &session{Write: a.write, Who: h.who(a.write, "")}
			}
		}
	}
	return nil
}

// unauthenticated sends a browser to the login page and anything else a 401.
func (h *Handler) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/state") && !strings.HasSuffix(r.URL.Path, ".svg") {
		http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="edgeflag"`)
	writeJSONError(w, http.StatusUnauthorized, "unauthorized", "log in to the dashboard first")
}

// sameOrigin refuses a state-changing request a browser says comes from another site:
// Sec-Fetch-Site other than same-origin (or none, typed by the user), or an Origin whose
// host is not the request's.
func sameOrigin(r *http.Request) (string, bool) {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "Sec-Fetch-Site is " + site, false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if origin == "null" || err != nil || !strings.EqualFold(u.Host, r.Host) {
			return "Origin " + origin + " is not " + r.Host, false
		}
	}
	return "", true
}

// checkPost checks a state-changing request of a session: same origin, a session cookie
// with write access, and the session's CSRF token in the form.
func (h *Handler) checkPost(w http.ResponseWriter, r *http.Request, s *session) bool {
	if why, ok := sameOrigin(r); !ok {
		writeJSONError(w, http.StatusForbidden, "cross_site", "cross-site request refused: "+why)
		return false
	}
	if !s.Write {
		writeJSONError(w, http.StatusForbidden, "read_only", "this session is read-only: log in with the full-access token to change anything")
		return false
	}
	if s.nonce == "" {
		writeJSONError(w, http.StatusForbidden, "no_session", "changes from the dashboard need a login session (use the kill-switch API with a token)")
		return false
	}
	if got := r.PostFormValue("csrf"); !hmac.Equal([]byte(got), []byte(s.CSRF())) {
		writeJSONError(w, http.StatusForbidden, "csrf", "the form's CSRF token is missing or wrong: reload the page and try again")
		return false
	}
	return true
}

// setCookie writes the session cookie; an empty value deletes it.
func setCookie(w http.ResponseWriter, value string, expires time.Time) {
	maxAge := int(SessionLifetime.Seconds())
	if value == "" {
		maxAge = -1
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: value, Path: Prefix, Expires: expires,
		MaxAge: maxAge, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// login shows the form (GET) or checks a token and starts a session (POST).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodGet, http.MethodHead, http.MethodPost) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_form", "reading the form: "+err.Error())
		return
	}
	next := safeNext(r.FormValue("next"))
	if r.Method != http.MethodPost {
		h.render(w, r, http.StatusOK, "login", &loginPage{page: page{Title: "Log in"}, Next: next,
			NoToken: h.cfg.Token == "" && h.cfg.ReadOnlyToken == ""})
		return
	}
	if why, ok := sameOrigin(r); !ok {
		writeJSONError(w, http.StatusForbidden, "cross_site", "cross-site login refused: "+why)
		return
	}
	a, ok := h.tokenAccess(r.PostFormValue("token"))
	name := strings.TrimSpace(r.PostFormValue("name"))
	problem := ""
	switch {
	case !ok:
		problem = "That token is not valid here."
	case len(name) > maxNameLength:
		problem = "Your name is longer than " + strconv.Itoa(maxNameLength) + " characters."
	case strings.IndexFunc(name, func(c rune) bool { return unicode.IsControl(c) || c == '|' }) >= 0:
		problem = "Your name may not contain control characters or '|'."
	}
	if problem != "" {
		h.render(w, r, http.StatusUnauthorized, "login", &loginPage{page: page{Title: "Log in", Error: problem}, Next: next, Name: name})
		return
	}
	expires := h.cfg.Now().Add(SessionLifetime)
	setCookie(w, newCookie(a, name, expires), expires)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session (POST, same origin).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodPost) {
		return
	}
	if why, ok := sameOrigin(r); !ok {
		writeJSONError(w, http.StatusForbidden, "cross_site", "cross-site request refused: "+why)
		return
	}
	setCookie(w, "", time.Unix(0, 0))
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect inside the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ListPath
	}
	return next
}
