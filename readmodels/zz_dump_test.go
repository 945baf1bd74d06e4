package readmodels

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

func TestZZDump(t *testing.T) {
	words := []string{"backend", "frontend", "engineer", "developer", "data", "scientist", "machine learning",
		"reliability", "devops", "security", "product", "designer", "manager", "android", "ios", "analyst",
		"writer", "architect", "recruiter", "support", "database", "senior backend", "full-stack", "kubernetes",
		"python", "platform", "react", "go"}
	tags := []string{"go", "python", "kubernetes", "typescript", "react", "aws", "sql", "kafka", "postgresql", "figma", "rust", "saas"}
	sen := []string{"junior", "mid", "senior", "lead", "principal"}
	r := rand.New(rand.NewPCG(5, 6))
	f, _ := os.Create("/tmp/s2/bodies.ndjson")
	defer f.Close()
	for range 400 {
		p := SearchParams{Limit: 20}
		if r.IntN(5) > 0 {
			q := words[r.IntN(len(words))]
			if r.IntN(10) < 3 && len(q) >= 5 {
				i := 1 + r.IntN(len(q)-2)
				q = q[:i] + q[i+1:]
			}
			p.Q = q
		}
		if r.IntN(10) < 3 {
			p.Tags = []string{tags[r.IntN(len(tags))]}
		}
		if r.IntN(10) < 3 {
			b := r.IntN(3) > 0
			p.Remote = &b
		}
		if r.IntN(10) < 2 {
			p.Seniority = sen[r.IntN(len(sen))]
		}
		switch n := r.IntN(10); {
		case n < 3:
			p.Sort = SortNewest
		case n < 5:
			p.Sort = SortSalary
		}
		_ = p.normalise()
		b := searchBody(p, nil, time.Now(), 2*time.Second)
		raw, _ := json.Marshal(b)
		f.Write(raw)
		f.Write([]byte("\n"))
	}
}
