package instrument

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestHeaderFlag(t *testing.T) {
	tests := []struct {
		name, flag string
		ok         bool
	}{
		{"X-Flag-New-Checkout-Flow", "new-checkout-flow", true}, // as Go's server canonicalizes it
		{"x-flag-new-checkout-flow", "new-checkout-flow", true}, // as the edges send it
		{"X-FLAG-A.B_C", "a.b_c", true},
		{"X-Flag-", "", false},
		{"X-Flag", "", false},
		{"X-Flags-a", "", false},
		{"X-Edgeflag-Snapshot", "", false},
		{"Content-Type", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		flag, ok := headerFlag(tt.name)
		if flag != tt.flag || ok != tt.ok {
			t.Errorf("headerFlag(%q) = %q, %v; want %q, %v", tt.name, flag, ok, tt.flag, tt.ok)
		}
	}
}

func TestValidNames(t *testing.T) {
	tests := []struct {
		s             string
		flag, variant bool
	}{
		{"new-checkout-flow", true, true},
		{"a", true, true},
		{"0.9_x-y", true, true},
		{"Blue", false, true},
		{"on", true, true},
		{"", false, false},
		{"-leading", false, false},
		{".leading", false, false},
		{"_leading", false, false},
		{"has space", false, false},
		{"comma,joined", false, false},
		{"slash/x", false, false},
		{"ünicode", false, false},
		{strings.Repeat("a", 200), true, true},
		{strings.Repeat("a", 201), false, false},
	}
	for _, tt := range tests {
		if got := validFlagKey(tt.s); got != tt.flag {
			t.Errorf("validFlagKey(%q) = %v, want %v", tt.s, got, tt.flag)
		}
		if got := validVariant(tt.s); got != tt.variant {
			t.Errorf("validVariant(%q) = %v, want %v", tt.s, got, tt.variant)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		name    string
		header  http.Header
		want    []variant
		invalid int
	}{
		{"none", http.Header{"Accept": {"*/*"}}, nil, 0},
		{
			"canonical names",
			http.Header{"X-Flag-New-Checkout": {"on"}, "X-Flag-Button-Color": {"blue"}, "X-Edgeflag-Snapshot": {"abc"}},
			[]variant{{"button-color", "blue"}, {"new-checkout", "on"}},
			0,
		},
		{"lower-case names", http.Header{"x-flag-new-checkout": {"off"}}, []variant{{"new-checkout", "off"}}, 0},
		{"variant case kept", http.Header{"X-Flag-Theme": {"Dark"}}, []variant{{"theme", "Dark"}}, 0},
		{"first value of several", http.Header{"X-Flag-Theme": {"dark", "light"}}, []variant{{"theme", "dark"}}, 0},
		{"empty value", http.Header{"X-Flag-Theme": {""}}, nil, 1},
		{"no value", http.Header{"X-Flag-Theme": {}}, nil, 1},
		{"comma-joined values", http.Header{"X-Flag-Theme": {"dark, light"}}, nil, 1},
		{"invalid key", http.Header{"X-Flag-Th%C3%A9me": {"dark"}}, nil, 1},
		{"invalid and valid", http.Header{"X-Flag-A": {"x"}, "X-Flag-B": {"no/slash"}}, []variant{{"a", "x"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, invalid := parseHeaders(tt.header, nil)
			slices.SortFunc(got, func(a, b variant) int { return cmp.Compare(a.flag, b.flag) })
			if !slices.Equal(got, tt.want) || invalid != tt.invalid {
				t.Errorf("parseHeaders = %v, %d invalid; want %v, %d", got, invalid, tt.want, tt.invalid)
			}
		})
	}
}
