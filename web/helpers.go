package web

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/readmodels"
)

// humanize turns a slug ("full_time") into words ("Full time").
func humanize(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// zeroDecimal are the ISO 4217 currencies without minor units (Stripe's list, the common
// ones): their amounts are whole units.
var zeroDecimal = map[string]bool{"JPY": true, "KRW": true, "VND": true, "CLP": true, "ISK": true, "UGX": true, "XOF": true, "XAF": true}

// major is an amount in minor units as a decimal number of whole units.
func major(amount int64, currency string) float64 {
	if zeroDecimal[strings.ToUpper(currency)] {
		return float64(amount)
	}
	return float64(amount) / 100
}

// amount formats minor units as "60,000" or "12.50".
func amount(minor int64, currency string) string {
	if zeroDecimal[strings.ToUpper(currency)] {
		return group(minor)
	}
	s := group(minor / 100)
	if c := minor % 100; c != 0 {
		s += "." + strconv.FormatInt(100+c, 10)[1:]
	}
	return s
}

func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// money formats a salary range: "EUR 60,000–80,000 a year".
func money(s *readmodels.Salary) string {
	if s == nil {
		return ""
	}
	per := map[string]string{"year": "a year", "month": "a month", "hour": "an hour"}[s.Period]
	r := s.Currency + " " + amount(s.Min, s.Currency)
	if s.Max != s.Min {
		r += "–" + amount(s.Max, s.Currency)
	}
	return strings.TrimSpace(r + " " + per)
}

// slug is the readable part of a job's URL: lower-case letters and digits joined by
// hyphens, at most 60 characters. It only decorates the id; any slug (or none) finds the job.
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// parseID returns raw in canonical form if it is a UUID in its 36-character form, as the
// API hands ids out; anything else names nothing.
func parseID(raw string) (string, bool) {
	if len(raw) != 36 {
		return "", false
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return "", false
	}
	return id.String(), true
}
