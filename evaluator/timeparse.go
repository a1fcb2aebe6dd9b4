package evaluator

// Time attributes given as strings are parsed here rather than with time.Parse, which would
// bring package time into the WASM module. parseTime accepts exactly what
// time.Parse(time.DateOnly, s) accepts for 10-byte strings and what
// time.Parse(time.RFC3339Nano, s) accepts otherwise, and gives the same instant (a fuzz
// test holds it to that).

const (
	msPerSecond = 1000
	msPerMinute = 60 * msPerSecond
	msPerHour   = 60 * msPerMinute
	msPerDay    = 24 * msPerHour
)

// parseTime returns the Unix milliseconds of an RFC 3339 timestamp
// ("2026-11-26T12:00:00Z", "2026-11-26T12:00:00.5+01:00") or of a date ("2026-11-26",
// midnight UTC). Like time.Parse it also takes a one-digit hour, a comma before the
// fraction and zone offsets up to ±24:60, and it truncates the fraction to milliseconds.
func parseTime(s string) (int64, bool) {
	year, month, day, ok := parseDate(s)
	if !ok {
		return 0, false
	}
	days := daysFromCivil(year, month, day)
	if len(s) == len("2006-01-02") {
		return days * msPerDay, true
	}
	s = s[10:]
	if len(s) == 0 || s[0] != 'T' {
		return 0, false
	}
	s = s[1:]
	// The hour takes one or two digits, minutes and seconds two.
	hour, s, ok := number(s, 1, 2)
	if !ok || hour > 23 || len(s) == 0 || s[0] != ':' {
		return 0, false
	}
	minute, s, ok := number(s[1:], 2, 2)
	if !ok || minute > 59 || len(s) == 0 || s[0] != ':' {
		return 0, false
	}
	second, s, ok := number(s[1:], 2, 2)
	if !ok || second > 59 {
		return 0, false
	}
	ms := days*msPerDay + hour*msPerHour + minute*msPerMinute + second*msPerSecond
	// A fraction: '.' or ',' then any number of digits, of which the first three count.
	if len(s) >= 2 && (s[0] == '.' || s[0] == ',') && isDigit(s[1]) {
		i, scale := 1, int64(100)
		for ; i < len(s) && isDigit(s[i]); i++ {
			ms += int64(s[i]-'0') * scale
			scale /= 10
		}
		s = s[i:]
	}
	// The zone: Z, or ±hh:mm.
	if s == "Z" {
		return ms, true
	}
	if len(s) != len("+07:00") || s[3] != ':' || s[0] != '+' && s[0] != '-' {
		return 0, false
	}
	zh, _, ok1 := number(s[1:3], 2, 2)
	zm, _, ok2 := number(s[4:], 2, 2)
	if !ok1 || !ok2 || zh > 24 || zm > 60 {
		return 0, false
	}
	offset := zh*msPerHour + zm*msPerMinute
	if s[0] == '+' {
		return ms - offset, true
	}
	return ms + offset, true
}

// parseDate reads the "2006-01-02" that starts s and checks that the day exists.
func parseDate(s string) (year, month, day int64, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	year, _, ok1 := number(s[:4], 4, 4)
	month, _, ok2 := number(s[5:7], 2, 2)
	day, _, ok3 := number(s[8:10], 2, 2)
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return 0, 0, 0, false
	}
	return year, month, day, true
}

// number reads a decimal number of min to max digits at the start of s.
func number(s string, min, max int) (int64, string, bool) {
	var n int64
	i := 0
	for ; i < max && i < len(s) && isDigit(s[i]); i++ {
		n = n*10 + int64(s[i]-'0')
	}
	return n, s[i:], i >= min
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func daysIn(month, year int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given proleptic
// Gregorian date (Howard Hinnant's algorithm), for years 0 to 9999.
func daysFromCivil(year, month, day int64) int64 {
	if month <= 2 {
		year--
	}
	era := year / 400
	if year < 0 {
		era = (year - 399) / 400
	}
	yoe := year - era*400                  // [0, 399]
	mp := (month + 9) % 12                 // March = 0
	doy := (153*mp+2)/5 + day - 1          // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return era*146097 + doe - 719468
}
