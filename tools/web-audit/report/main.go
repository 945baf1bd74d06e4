// Command report reads the Lighthouse JSON reports of `make audit-web` (tools/web-audit/run.sh),
// takes each page's median score per category over its runs, writes them to docs/WEB-AUDIT.md
// and exits non-zero when a page is under issue 14's thresholds. The audits that lost points
// are listed under the table, so a failing score says why.
//
//	report -out docs/WEB-AUDIT.md search=run1.json search=run2.json job=run1.json ...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// thresholds are issue 14's minimum scores (0-100) per Lighthouse category.
var thresholds = []struct {
	id, name string
	min      int
}{
	{"performance", "Performance", 90},
	{"accessibility", "Accessibility", 95},
	{"best-practices", "Best practices", 90},
	{"seo", "SEO", 95},
}

// lhr is the part of a Lighthouse result (LHR) the report reads.
type lhr struct {
	LighthouseVersion string `json:"lighthouseVersion"`
	FetchTime         string `json:"fetchTime"`
	FinalURL          string `json:"finalDisplayedUrl"`
	UserAgent         string `json:"userAgent"`
	ConfigSettings    struct {
		FormFactor string `json:"formFactor"`
	} `json:"configSettings"`
	Categories map[string]struct {
		Score     *float64 `json:"score"`
		AuditRefs []struct {
			ID     string  `json:"id"`
			Weight float64 `json:"weight"`
		} `json:"auditRefs"`
	} `json:"categories"`
	Audits map[string]struct {
		Title        string   `json:"title"`
		Score        *float64 `json:"score"`
		DisplayValue string   `json:"displayValue"`
		Mode         string   `json:"scoreDisplayMode"`
		Details      struct {
			Items []map[string]any `json:"items"`
		} `json:"details"`
	} `json:"audits"`
}

type page struct {
	name    string
	runs    []lhr
	medians map[string]int
}

func main() {
	out := flag.String("out", "docs/WEB-AUDIT.md", "the Markdown file to write")
	flag.Parse()
	pages, err := load(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(2)
	}
	failures := write(io.MultiWriter(f, os.Stdout), pages)
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(2)
	}
	if len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "audit-web: under the thresholds:\n  %s\n", strings.Join(failures, "\n  "))
		os.Exit(1)
	}
}

// load reads name=file arguments, keeping the pages in the order first named.
func load(args []string) ([]*page, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no reports given (name=file.json ...)")
	}
	var pages []*page
	byName := map[string]*page{}
	for _, a := range args {
		name, file, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want name=file.json", a)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var r lhr
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		p := byName[name]
		if p == nil {
			p = &page{name: name, medians: map[string]int{}}
			byName[name] = p
			pages = append(pages, p)
		}
		p.runs = append(p.runs, r)
	}
	for _, p := range pages {
		for _, c := range thresholds {
			var scores []float64
			for _, r := range p.runs {
				if cat, ok := r.Categories[c.id]; ok && cat.Score != nil {
					scores = append(scores, *cat.Score*100)
				}
			}
			if len(scores) == 0 {
				return nil, fmt.Errorf("page %s: no %s score in its reports", p.name, c.id)
			}
			sort.Float64s(scores)
			p.medians[c.id] = int(math.Round(scores[len(scores)/2]))
		}
	}
	return pages, nil
}

// write renders the Markdown and returns the scores under their thresholds.
func write(w io.Writer, pages []*page) []string {
	first := pages[0].runs[0]
	fmt.Fprintf(w, "# Web audit (Lighthouse)\n\n")
	fmt.Fprintf(w, "Written by `make audit-web` (tools/web-audit/run.sh) on %s: Lighthouse %s, %s form factor with its default\n",
		date(first.FetchTime), first.LighthouseVersion, first.ConfigSettings.FormFactor)
	fmt.Fprintf(w, "simulated throttling, Debian's Chromium headless, against a freshly started server over a seeded board.\n")
	fmt.Fprintf(w, "Each score is the median of %d runs. Thresholds (issue 14): ", len(pages[0].runs))
	var th []string
	for _, c := range thresholds {
		th = append(th, fmt.Sprintf("%s ≥ %d", strings.ToLower(c.name), c.min))
	}
	fmt.Fprintf(w, "%s.\n\n", strings.Join(th, ", "))

	fmt.Fprintf(w, "| page | path |")
	for _, c := range thresholds {
		fmt.Fprintf(w, " %s |", c.name)
	}
	fmt.Fprintf(w, "\n|---|---|%s\n", strings.Repeat("---:|", len(thresholds)))
	var failures []string
	for _, p := range pages {
		fmt.Fprintf(w, "| %s | `%s` |", p.name, path(p.runs[0].FinalURL))
		for _, c := range thresholds {
			s := p.medians[c.id]
			mark := ""
			if s < c.min {
				mark = " ✗"
				failures = append(failures, fmt.Sprintf("%s: %s %d < %d", p.name, c.id, s, c.min))
			}
			fmt.Fprintf(w, " %d%s |", s, mark)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "\n## What lost points (first run of each page)\n\n")
	for _, p := range pages {
		lost := lostPoints(p.runs[0])
		if len(lost) == 0 {
			fmt.Fprintf(w, "- %s: nothing.\n", p.name)
			continue
		}
		fmt.Fprintf(w, "- %s:\n", p.name)
		for _, l := range lost {
			fmt.Fprintf(w, "  - %s\n", l)
		}
	}
	return failures
}

// lostPoints lists the weighted audits of the four categories that did not score full marks.
func lostPoints(r lhr) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range thresholds {
		for _, ref := range r.Categories[c.id].AuditRefs {
			a, ok := r.Audits[ref.ID]
			if ref.Weight == 0 || !ok || a.Score == nil || *a.Score >= 1 || seen[ref.ID] {
				continue
			}
			seen[ref.ID] = true
			line := fmt.Sprintf("%s: %s (score %.2f", c.id, a.Title, *a.Score)
			if a.DisplayValue != "" {
				line += ", " + a.DisplayValue
			}
			line += ")"
			for i, it := range a.Details.Items {
				if i == 3 {
					line += fmt.Sprintf("\n    - … and %d more", len(a.Details.Items)-3)
					break
				}
				if what := itemText(it); what != "" {
					line += "\n    - " + what
				}
			}
			out = append(out, line)
		}
	}
	slices.Sort(out)
	return out
}

// itemText says what an audit item is about: the element (its HTML), the message or the URL.
func itemText(it map[string]any) string {
	for _, key := range []string{"node", "tapTarget"} {
		if n, ok := it[key].(map[string]any); ok {
			if snippet, _ := n["snippet"].(string); snippet != "" {
				return "`" + strings.ReplaceAll(snippet, "`", "'") + "`"
			}
		}
	}
	for _, key := range []string{"description", "url"} {
		if v, _ := it[key].(string); v != "" {
			return strings.ReplaceAll(path(v), "\n", " ")
		}
	}
	return ""
}

// path drops the per-run loopback address and port from a page's URL.
func path(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		if j := strings.Index(url[i+3:], "/"); j >= 0 {
			return url[i+3+j:]
		}
	}
	return url
}

func date(fetch string) string {
	t, err := time.Parse(time.RFC3339Nano, fetch)
	if err != nil {
		return fetch
	}
	return t.UTC().Format("2006-01-02")
}
