// Package layout is the store layout (docs/store-layout.md) in one place: the keys of the
// objects a store holds, their content types and cache headers, the syntax of
// environment names and content hashes, and the pointer (<env>/current.json) with its
// encoding and validation. Package store writes by it, package publish moves pointers by
// it, package poller and the JavaScript poller (edge/shared/poller.mjs) read by it; the
// test vectors in testdata/vectors.json hold both sides to the same rules.
//
// The package uses the standard library only, so that an edge host that polls a store
// does not depend on a store's backends (the AWS SDK).
package layout

import (
	"regexp"
	"strings"
)

// Content types of the objects in a store.
const (
	ContentTypeSnapshot = "application/vnd.edgeflag.snapshot"
	ContentTypeJSON     = "application/json"
	ContentTypeOther    = "application/octet-stream"
)

// Cache-Control values. Snapshots are immutable (their name is their hash) and can be
// cached for ever; the pointer is cached for at most a few seconds so that a publish or
// a kill reaches edges quickly; what only the kill switch and CI read is never cached.
const (
	CacheImmutable = "public, max-age=31536000, immutable"
	CachePointer   = "public, max-age=5"
	CacheNoStore   = "no-store"
)

// PointerMaxAge is the max-age of CachePointer, in seconds: how long a cache (CloudFront,
// a Cloudflare location) may serve a pointer without asking the store again.
const PointerMaxAge = 5

// The names of the store layout.
const (
	snapshotsDir  = "snapshots/"
	baseDir       = "base/"
	snapExt       = ".snap"
	pointerName   = "current.json"
	killStateName = "kill-state.json"
	rolloutName   = "rollout-state.json"
	plansDir      = "plans/"
	auditDir      = "audit/"
)

var envPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// MaxEnvironmentLength bounds environment names.
const MaxEnvironmentLength = 63

// ValidEnvironment reports whether name is an environment name of the flag language
// (lower-case letters, digits, '_' and '-', starting with a letter or digit, at most
// MaxEnvironmentLength bytes).
func ValidEnvironment(name string) bool {
	return len(name) <= MaxEnvironmentLength && envPattern.MatchString(name)
}

// ValidHash reports whether h is a content hash: the SHA-256 of the object in 64
// lower-case hex digits.
func ValidHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// SnapshotKey is where a served snapshot lives: snapshots/<hash>.snap.
func SnapshotKey(hash string) string { return snapshotsDir + hash + snapExt }

// SnapshotPrefix is the prefix of every served snapshot's key.
func SnapshotPrefix() string { return snapshotsDir }

// PointerKey is an environment's pointer: <env>/current.json.
func PointerKey(env string) string { return env + "/" + pointerName }

// BaseKey is where a base snapshot (as compiled, before kill state) lives:
// base/<env>/<hash>.snap. Its upload triggers the republish S3 event, whose filter is
// the prefix base/ and the suffix .snap.
func BaseKey(env, hash string) string { return baseDir + env + "/" + hash + snapExt }

// BasePrefix is the prefix of an environment's base snapshots.
func BasePrefix(env string) string { return baseDir + env + "/" }

// BaseEventPrefix is the key prefix of all base snapshots: the S3 event's filter.
func BaseEventPrefix() string { return baseDir }

// KillStateKey is an environment's kill switches: <env>/kill-state.json.
func KillStateKey(env string) string { return env + "/" + killStateName }

// RolloutStateKey is an environment's rollout state: <env>/rollout-state.json.
func RolloutStateKey(env string) string { return env + "/" + rolloutName }

// PlanKey is where a rollout plan lives: plans/<env>/<hash>.json, named by the SHA-256
// of its bytes (the pointer names the one in force).
func PlanKey(env, hash string) string { return plansDir + env + "/" + hash + ".json" }

// AuditPrefix is the prefix of an environment's audit records.
func AuditPrefix(env string) string { return env + "/" + auditDir }

// ParseBaseKey splits a base snapshot key (base/<env>/<hash>.snap) into its environment
// and hash; ok is false for any other key.
func ParseBaseKey(key string) (env, hash string, ok bool) {
	rest, found := strings.CutPrefix(key, baseDir)
	if !found {
		return "", "", false
	}
	env, name, found := strings.Cut(rest, "/")
	if !found || !ValidEnvironment(env) {
		return "", "", false
	}
	hash, found = strings.CutSuffix(name, snapExt)
	if !found || !ValidHash(hash) {
		return "", "", false
	}
	return env, hash, true
}

// HashFromKey returns the hash in a snapshot key (served or base), or "".
func HashFromKey(key string) string {
	name := key[strings.LastIndexByte(key, '/')+1:]
	h, ok := strings.CutSuffix(name, snapExt)
	if !ok || !ValidHash(h) {
		return ""
	}
	return h
}

// HeadersFor returns the Content-Type and Cache-Control of the object under key. Every
// store backend applies it: S3 stores the headers with the object for CloudFront, the
// directory store reports them on Get for the local server. Keeping the table here means
// a key's headers cannot differ between them.
func HeadersFor(key string) (contentType, cacheControl string) {
	if name, ok := strings.CutPrefix(key, snapshotsDir); ok && HashFromKey(name) != "" && !strings.Contains(name, "/") {
		return ContentTypeSnapshot, CacheImmutable
	}
	if _, _, ok := ParseBaseKey(key); ok {
		return ContentTypeSnapshot, CacheNoStore
	}
	if strings.HasPrefix(key, plansDir) && strings.HasSuffix(key, ".json") {
		return ContentTypeJSON, CacheNoStore
	}
	env, rest, ok := strings.Cut(key, "/")
	if !ok || !ValidEnvironment(env) {
		return ContentTypeOther, CacheNoStore
	}
	switch {
	case rest == pointerName:
		return ContentTypeJSON, CachePointer
	case rest == killStateName, rest == rolloutName:
		return ContentTypeJSON, CacheNoStore
	case strings.HasPrefix(rest, auditDir) && strings.HasSuffix(rest, ".json"):
		return ContentTypeJSON, CacheNoStore
	}
	return ContentTypeOther, CacheNoStore
}

// Public reports whether key is one that edges read and that may be served to anyone: a
// served snapshot (snapshots/<hash>.snap) or a pointer (<env>/current.json).
func Public(key string) bool {
	if name, ok := strings.CutPrefix(key, snapshotsDir); ok {
		return !strings.Contains(name, "/") && HashFromKey(name) != ""
	}
	env, rest, ok := strings.Cut(key, "/")
	return ok && ValidEnvironment(env) && rest == pointerName
}
