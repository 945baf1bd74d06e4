package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jobboard/jobboard/application"
	"github.com/jobboard/jobboard/readmodels"
)

// BenchmarkRenderSearchPage: the CPU the search page costs beside the search itself: a
// page of 20 jobs with their facets, rendered (point 7 of issue 14 budgets the whole page).
func BenchmarkRenderSearchPage(b *testing.B) {
	s, err := NewServer(Config{
		App:        application.Application{Commands: &application.Commands{}, Queries: &application.Queries{}, Tokens: &application.Tokens{}},
		SigningKey: []byte("a-signing-key-of-at-least-32-bytes!!"),
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var res readmodels.SearchResult
	for i := range 20 {
		res.Items = append(res.Items, readmodels.SearchItem{ID: fmt.Sprintf("0195a1b2-0000-7000-8000-%012d", i), Title: "Senior backend engineer",
			Company: readmodels.CompanyRef{ID: "0195a1b2-0000-7000-8000-000000000001", Name: "Acme"}, Location: readmodels.Location{Remote: true, Countries: []string{"DE", "FR"}},
			Salary: &readmodels.Salary{Min: 6_000_000, Max: 8_000_000, Currency: "EUR", Period: "year"}, Tags: []string{"go", "kafka", "postgresql"},
			EmploymentType: "full_time", Seniority: "senior", Featured: i < 2, PublishedAt: &now})
	}
	for i := range 20 {
		res.Facets.Tags = append(res.Facets.Tags, readmodels.FacetValue{Value: fmt.Sprintf("tag%d", i), Count: int64(100 - i)})
	}
	res.Facets.EmploymentType = []readmodels.FacetValue{{Value: "full_time", Count: 80}, {Value: "contract", Count: 20}}
	res.Facets.Seniority = []readmodels.FacetValue{{Value: "senior", Count: 50}, {Value: "mid", Count: 30}}
	res.Facets.Regions = []readmodels.FacetValue{{Value: "EMEA", Count: 60}}
	res.Total = 100
	form, _, _ := readSearch(map[string][]string{"q": {"backend"}, "tags": {"go"}})
	r := httptest.NewRequest("GET", "/?q=backend&tags=go", nil)
	b.ReportAllocs()
	for b.Loop() {
		v := searchView{Form: form, Total: res.Total, TypeOptions: typeOptions, SeniorityOptions: seniorities, Sorts: sorts, AlertFields: form.values(), Frequencies: frequencies}
		for _, it := range res.Items {
			v.Cards = append(v.Cards, cardOf(it))
		}
		v.facets(res.Facets)
		s.render(httptest.NewRecorder(), r, 200, "search.html", page{Title: "Jobs", Data: v, Script: s.pages.jsPath})
	}
}
