package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseTime reads a time given on the command line (--at, --now): RFC 3339
// (2026-12-01T09:00:00Z), a date (2026-12-01, midnight UTC), "now", or an offset from now
// in the units of the flag language (+2h, -3d, +1w, +1d12h, now+30m).
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "now":
		return now, nil
	case strings.HasPrefix(s, "now+") || strings.HasPrefix(s, "now-"):
		s = s[3:]
	}
	if s[0] == '+' || s[0] == '-' {
		d, err := parseOffset(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: %v", s, err)
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-12-01T09:00:00Z), a date (2026-12-01) or an offset from now (+2h, -3d)", s)
}

// offsetUnits are the duration units of the flag language.
var offsetUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
}

// parseOffset reads a sequence of number-unit pairs: 2h, 3d, 1d12h, 1.5h.
func parseOffset(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty offset")
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("want a number and a unit (s, m, h, d, w), as in +2h or -3d")
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad number %q", s[:i])
		}
		unit, ok := offsetUnits[s[i]]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q (want s, m, h, d or w)", s[i:i+1])
		}
		total += time.Duration(n * float64(unit))
		s = s[i+1:]
	}
	return total, nil
}
