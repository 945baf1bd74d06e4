package browsertest

import (
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// Violation is one axe-core rule that failed on a page, with the elements at fault.
type Violation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         []any  `json:"target"`
		HTML           string `json:"html"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// blocking are the impacts that fail a page (issue 14: 0 serious or critical violations);
// moderate and minor ones are logged.
var blocking = map[string]bool{"serious": true, "critical": true}

// axeRun injects axe-core once per document and runs its default rule set (WCAG 2 A and AA and
// the best practices) over the whole page, returning only the violations.
const axeRun = `(async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target, html: n.html, failureSummary: n.failureSummary}))}));
})()`

// CheckAccessibility runs axe-core in the current page and fails the test, listing every rule
// and element at fault, when any violation is serious or critical. page names the page in the
// messages. It returns all violations, for a caller that reports them.
func (b *Browser) CheckAccessibility(page string) []Violation {
	b.t.Helper()
	if !Eval[bool](b, "typeof window.axe !== 'undefined'") {
		run(b, "inject axe-core", chromedp.Evaluate[chromedp.Void](b.axe))
	}
	violations := Eval[[]Violation](b, axeRun)
	var bad, other []string
	for _, v := range violations {
		line := describe(v)
		if blocking[v.Impact] {
			bad = append(bad, line)
		} else {
			other = append(other, line)
		}
	}
	if len(other) > 0 {
		b.t.Logf("axe on %s (%s): %d moderate or minor violations:\n%s", page, b.Location(), len(other), strings.Join(other, "\n"))
	}
	if len(bad) > 0 {
		b.t.Errorf("axe on %s (%s): %d serious or critical violations:\n%s", page, b.Location(), len(bad), strings.Join(bad, "\n"))
	} else {
		b.t.Logf("axe on %s: 0 serious or critical violations", page)
	}
	return violations
}

func describe(v Violation) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "  [%s] %s: %s (%s)", v.Impact, v.ID, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&sb, "\n    at %v: %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.FailureSummary, "\n", "\n      "))
	}
	return sb.String()
}
