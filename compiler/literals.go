package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

// parseDate parses a YYYY-MM-DD date as midnight UTC.
func parseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid date %q: %s", ex(s), timeReason(err))
	}
	return t, nil
}

// parseTime parses an RFC 3339 time or a YYYY-MM-DD date (midnight UTC).
func parseTime(s string) (time.Time, error) {
	if len(s) == len(time.DateOnly) {
		return parseDate(s)
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q: %s", ex(s), timeReason(err))
	}
	return t.UTC(), nil
}

func timeReason(err error) string {
	var pe *time.ParseError
	if e, ok := err.(*time.ParseError); ok {
		pe = e
	}
	if pe != nil && pe.Message != "" {
		return strings.TrimPrefix(pe.Message, ": ")
	}
	return "want RFC 3339 (2026-12-01T09:00:00Z) or a date (2026-12-01)"
}

// maxOffset bounds durations and relative times: ±100 years in milliseconds, far inside
// int64 nanoseconds and safely representable as float64 milliseconds.
const maxOffset = 100 * 366 * 24 * int64(time.Hour/time.Millisecond)

var unitMillis = map[byte]int64{
	's': 1000,
	'm': 60 * 1000,
	'h': 60 * 60 * 1000,
	'd': 24 * 60 * 60 * 1000,
	'w': 7 * 24 * 60 * 60 * 1000,
}

// parseDuration parses a whole number and a unit s, m, h, d or w into milliseconds.
func parseDuration(s string) (int64, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("invalid duration %q", ex(s))
	}
	unit, ok := unitMillis[s[len(s)-1]]
	if !ok {
		return 0, fmt.Errorf("invalid duration %q: the unit is s, m, h, d or w", ex(s))
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n < 0 {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("duration %q is too long (at most 100 years)", ex(s))
		}
		return 0, fmt.Errorf("invalid duration %q", ex(s))
	}
	if n > maxOffset/unit {
		return 0, fmt.Errorf("duration %q is too long (at most 100 years)", ex(s))
	}
	return n * unit, nil
}

// parseRelative parses now, now+D or now-D into an offset in milliseconds. ok is false
// when s is not relative.
func parseRelative(s string) (offset int64, ok bool, err error) {
	if !strings.HasPrefix(s, "now") {
		return 0, false, nil
	}
	rest := s[3:]
	if rest == "" {
		return 0, true, nil
	}
	sign := int64(1)
	switch rest[0] {
	case '-':
		sign = -1
	case '+':
	default:
		return 0, true, fmt.Errorf("invalid relative time %q: want now-365d or now+2h", ex(s))
	}
	d, err := parseDuration(rest[1:])
	if err != nil {
		return 0, true, fmt.Errorf("invalid relative time %q: %v", ex(s), err)
	}
	return sign * d, true, nil
}

// checkPercentage reports a percentage outside 0..100 or finer than 0.0001%.
func checkPercentage(p float64) error {
	if p < 0 || p > 100 || math.IsNaN(p) {
		return fmt.Errorf("percentage %s is outside 0..100", formatNumber(p))
	}
	if t := p * 10_000; math.Abs(t-math.Round(t)) > 1e-6 {
		return fmt.Errorf("percentage %s is finer than 0.0001%%", formatNumber(p))
	}
	return nil
}

// ticks converts a checked percentage to buckets (units of 0.0001%).
func ticks(p float64) uint32 { return uint32(math.Round(p * 10_000)) }

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

var thresholdSyntax = regexp.MustCompile(`^(<=|>=|<|>) *(?:(-?[0-9]+(?:\.[0-9]+)?) *(%|ms|s)?|baseline *\* *([0-9]+(?:\.[0-9]+)?))$`)

// parseThreshold parses a success-criterion threshold.
func parseThreshold(s string) (*Criterion, error) {
	m := thresholdSyntax.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return nil, fmt.Errorf("invalid threshold %q: want a comparison and a number (< 0.5%%, < 500ms) or >= baseline * 0.95", ex(s))
	}
	c := &Criterion{Threshold: s, Comparison: m[1], Unit: m[3]}
	num := m[2]
	if m[4] != "" {
		c.Baseline, num = true, m[4]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) {
		return nil, fmt.Errorf("invalid threshold %q: number out of range", ex(s))
	}
	c.Value = v
	return c, nil
}

// semverText returns the canonical text of a version: no leading v, no build metadata.
func semverText(v snapshot.Semver) string {
	s := strconv.FormatUint(v.Major, 10) + "." + strconv.FormatUint(v.Minor, 10) + "." + strconv.FormatUint(v.Patch, 10)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	return s
}

// canonicalJSON writes a JSON value with sorted object keys, no spaces, no HTML escaping
// and numbers in their shortest form.
func canonicalJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// msDuration converts milliseconds to a time.Duration.
func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
