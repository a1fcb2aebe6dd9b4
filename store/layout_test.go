package store_test

import (
	"testing"

	"github.com/edgeflag/edgeflag/store"
)

func TestHeadersFor(t *testing.T) {
	tests := []struct {
		key, contentType, cacheControl string
	}{
		{"snapshots/" + hashA + ".snap", store.ContentTypeSnapshot, store.CacheImmutable},
		{"production/current.json", store.ContentTypeJSON, store.CachePointer},
		{"base/production/" + hashA + ".snap", store.ContentTypeSnapshot, store.CacheNoStore},
		{"base/current.json", store.ContentTypeJSON, store.CachePointer}, // environment "base"
		{"production/kill-state.json", store.ContentTypeJSON, store.CacheNoStore},
		{"production/audit/20261126T100000.000000000Z-0a1b.json", store.ContentTypeJSON, store.CacheNoStore},
		{"snapshots/not-a-hash.snap", store.ContentTypeOther, store.CacheNoStore},
		{"snapshots/nested/" + hashA + ".snap", store.ContentTypeOther, store.CacheNoStore},
		{"Production/current.json", store.ContentTypeOther, store.CacheNoStore},
		{"readme.txt", store.ContentTypeOther, store.CacheNoStore},
	}
	for _, tt := range tests {
		ct, cc := store.HeadersFor(tt.key)
		if ct != tt.contentType || cc != tt.cacheControl {
			t.Errorf("HeadersFor(%q) = %q, %q; want %q, %q", tt.key, ct, cc, tt.contentType, tt.cacheControl)
		}
	}
}

func TestParseBaseKey(t *testing.T) {
	tests := []struct {
		key, env, hash string
		ok             bool
	}{
		{"base/production/" + hashA + ".snap", "production", hashA, true},
		{store.BaseKey("eu-west_2", hashA), "eu-west_2", hashA, true},
		{"base/production/" + hashA[:63] + ".snap", "", "", false},
		{"base/production/" + hashA + ".json", "", "", false},
		{"production/base/" + hashA + ".snap", "", "", false},
		{"snapshots/" + hashA + ".snap", "", "", false},
		{"base/Prod/" + hashA + ".snap", "", "", false},
		{"base/production/x/" + hashA + ".snap", "", "", false},
	}
	for _, tt := range tests {
		env, hash, ok := store.ParseBaseKey(tt.key)
		if env != tt.env || hash != tt.hash || ok != tt.ok {
			t.Errorf("ParseBaseKey(%q) = %q, %q, %v; want %q, %q, %v", tt.key, env, hash, ok, tt.env, tt.hash, tt.ok)
		}
	}
}

func TestValidEnvironment(t *testing.T) {
	tests := map[string]bool{
		"production": true, "eu-1": true, "a_b": true, "0": true,
		"": false, "Production": false, "-x": false, "a/b": false, "a.b": false,
		"x123456789012345678901234567890123456789012345678901234567890123": false,
	}
	for name, want := range tests {
		if got := store.ValidEnvironment(name); got != want {
			t.Errorf("ValidEnvironment(%q) = %v, want %v", name, got, want)
		}
	}
}
