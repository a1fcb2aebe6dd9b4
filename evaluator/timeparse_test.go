//go:build !wasip1

package evaluator

import (
	"testing"
	"time"
)

// timeReference is how time attributes were read with package time: a date for 10 bytes,
// RFC 3339 otherwise.
func timeReference(s string) (int64, bool) {
	layout := time.RFC3339Nano
	if len(s) == len(time.DateOnly) {
		layout = time.DateOnly
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

var timeCases = []string{
	"2026-11-26", "2026-02-29", "2024-02-29", "2000-02-29", "1900-02-29", "0000-01-01", "9999-12-31",
	"1969-12-31", "2026-13-01", "2026-00-10", "2026-01-00", "2026-04-31", "2026-1-01", "+026-01-01", "2026/01/01",
	"2026-11-26T12:00:00Z", "2026-11-26T12:00:00.123Z", "2026-11-26T12:00:00.1239999Z",
	"2026-11-26T12:00:00.123456789012Z", "2026-11-26T12:00:00,5Z", "2026-11-26T12:00:00.Z",
	"2026-11-26T12:00:00+01:00", "2026-11-26T12:00:00-07:30", "2026-11-26T12:00:00+24:00",
	"2026-11-26T12:00:00+23:60", "2026-11-26T12:00:00+25:00", "2026-11-26T12:00:00+01:61",
	"2026-11-26T12:00:00+0100", "2026-11-26T12:00:00z", "2026-11-26t12:00:00Z", "2026-11-26T12:00:00",
	"2026-11-26T1:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T23:60:00Z", "2026-11-26T23:59:60Z",
	"2026-11-26T12:00:00ZZ", "2026-11-26T12:00:00.5+01:00", "1970-01-01T00:00:00.999-00:00",
	"0000-01-01T00:00:00+24:00", "2026-11-26 12:00:00Z", "2026-11-26T12:0:00Z", "2026-11-26T12:00:0Z",
	"", "2026", "2026-11-26T", "2026-11-26T12", "2026-11-26T12:00:00+01:0", "2026-11-26T12:00:00+01:000",
}

func TestParseTimeMatchesPackageTime(t *testing.T) {
	for _, s := range timeCases {
		got, ok := parseTime(s)
		want, wantOK := timeReference(s)
		if ok != wantOK || got != want {
			t.Errorf("parseTime(%q) = %d %v, package time says %d %v", s, got, ok, want, wantOK)
		}
	}
}

// FuzzParseTime holds parseTime to package time.
// go test ./evaluator -run '^$' -fuzz FuzzParseTime
func FuzzParseTime(f *testing.F) {
	for _, s := range timeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime(s)
		want, wantOK := timeReference(s)
		if ok != wantOK || got != want {
			t.Fatalf("parseTime(%q) = %d %v, package time says %d %v", s, got, ok, want, wantOK)
		}
	})
}

func TestDaysFromCivil(t *testing.T) {
	for day := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 10000; day = day.AddDate(0, 0, 17) {
		if got, want := daysFromCivil(int64(day.Year()), int64(day.Month()), int64(day.Day())), day.Unix()/86400; got != want {
			t.Fatalf("%s: %d, want %d", day.Format(time.DateOnly), got, want)
		}
	}
}
