package store

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/store/layout"
)

// Handler serves a store's public objects over HTTP as CloudFront serves the bucket: GET
// and HEAD of /snapshots/<hash>.snap and /<env>/current.json, with the objects' ETag,
// Content-Type and Cache-Control, answering If-None-Match with 304. Everything else (kill
// state, audit records, base snapshots) is 404, as it is not public in AWS either. Edges
// (package poller) and `edgeflag dev` read a directory store through it.
func Handler(st Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		key := strings.TrimPrefix(r.URL.Path, "/")
		if !Public(key) {
			http.NotFound(w, r)
			return
		}
		obj, err := st.Get(r.Context(), key, GetOptions{IfNoneMatch: r.Header.Get("If-None-Match")})
		switch {
		case errors.Is(err, ErrNotModified):
			w.Header().Set("ETag", r.Header.Get("If-None-Match"))
			w.WriteHeader(http.StatusNotModified)
			return
		case errors.Is(err, ErrNotFound):
			http.NotFound(w, r)
			return
		case err != nil:
			http.Error(w, "store unavailable", http.StatusBadGateway)
			return
		}
		h := w.Header()
		h.Set("ETag", obj.ETag)
		h.Set("Content-Type", obj.ContentType)
		h.Set("Cache-Control", obj.CacheControl)
		h.Set("Content-Length", strconv.Itoa(len(obj.Data)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(obj.Data)
		}
	})
}

// Public reports whether edges may read key: served snapshots and pointers.
func Public(key string) bool {
	if ValidateKey(key) != nil {
		return false
	}
	return layout.Public(key)
}
