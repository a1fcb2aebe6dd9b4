// Package storetest serves a store over HTTP on 127.0.0.1 for tests of edge hosts: the
// objects of docs/store-layout.md held in memory, with ETags and If-None-Match, and
// switches that make it fail, corrupt what it serves, and recover.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Fault is a way for the server to misbehave.
type Fault int

// Faults.
const (
	Healthy          Fault = iota
	Failing                // every request gets 503
	CorruptSnapshots       // snapshot bodies have one byte flipped
	Hanging                // requests wait for the client to give up
)

// Server is an HTTP store. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	objects  map[string][]byte // key → body
	fault    Fault
	requests map[string]int // "METHOD key status" → count
}

// New starts a server; stop it with Close.
func New() *Server {
	s := &Server{objects: map[string][]byte{}, requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Put stores an object under key.
func (s *Server) Put(key string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = append([]byte(nil), body...)
}

// Publish stores an encoded snapshot under snapshots/<hash>.snap and points env's
// current.json at it, the way `edgeflag publish` does. It returns the hash.
func (s *Server) Publish(env string, data []byte) string {
	hash, err := snapshot.Hash(data)
	if err != nil {
		panic("storetest: Publish of a non-snapshot: " + err.Error())
	}
	s.Put("snapshots/"+hash+".snap", data)
	ptr, _ := json.Marshal(map[string]any{
		"environment": env, "snapshot": hash, "base": hash, "revision": "test",
		"killed": []string{}, "publishedAt": time.Now().UTC().Format(time.RFC3339),
	})
	s.Put(env+"/current.json", ptr)
	return hash
}

// PublishSigned is Publish with a signed pointer of the given version, as `edgeflag
// publish` with a signing key writes it. It returns the hash.
func (s *Server) PublishSigned(env string, data []byte, signer signing.Signer, version int64) string {
	hash, err := snapshot.Hash(data)
	if err != nil {
		panic("storetest: PublishSigned of a non-snapshot: " + err.Error())
	}
	sig, err := signing.Sign(context.Background(), signer, env, hash, version)
	if err != nil {
		panic("storetest: " + err.Error())
	}
	s.Put("snapshots/"+hash+".snap", data)
	ptr, _ := json.Marshal(map[string]any{
		"environment": env, "snapshot": hash, "base": hash, "revision": "test",
		"killed": []string{}, "publishedAt": time.Now().UTC().Format(time.RFC3339),
		"version": version, "keyId": sig.KeyID, "signature": sig.Value,
	})
	s.Put(env+"/current.json", ptr)
	return hash
}

// Get returns the object under key (nil if there is none).
func (s *Server) Get(key string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.objects[key]...)
}

// SetFault switches the server's behaviour.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Count returns how many GET requests for key were answered with status.
func (s *Server) Count(key string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[key+" "+http.StatusText(status)]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/")
	s.mu.Lock()
	fault := s.fault
	body, ok := s.objects[key]
	s.mu.Unlock()
	status := http.StatusOK
	defer func() {
		s.mu.Lock()
		s.requests[key+" "+http.StatusText(status)]++
		s.mu.Unlock()
	}()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		status = http.StatusMethodNotAllowed
		w.WriteHeader(status)
		return
	}
	switch fault {
	case Failing:
		status = http.StatusServiceUnavailable
		http.Error(w, "store unavailable", status)
		return
	case Hanging:
		status = http.StatusGatewayTimeout
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		return
	}
	if !ok {
		status = http.StatusNotFound
		http.Error(w, "no such key", status)
		return
	}
	if fault == CorruptSnapshots && strings.HasSuffix(key, ".snap") {
		body = append([]byte(nil), body...)
		body[len(body)-1] ^= 0x5a
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if strings.HasSuffix(key, ".json") {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=5")
	} else {
		w.Header().Set("Content-Type", "application/vnd.edgeflag.snapshot")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
		status = http.StatusNotModified
		w.WriteHeader(status)
		return
	}
	w.Write(body)
}
