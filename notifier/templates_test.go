package notifier

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite the golden files of the templates")

// sample is testdata/samples/<template>.json: what the template is rendered from.
type sample struct {
	Recipient Contact
	Refs      map[string]Contact
	Data      map[string]any
}

const sampleBaseURL = "https://jobs.example.com"

// TestTemplatesGolden renders every template from its sample and compares the subject, the
// text and the HTML part with testdata/golden/<template>.{subject,txt,html}; -update
// rewrites them (review the diff).
func TestTemplatesGolden(t *testing.T) {
	t.Parallel()
	tpl, err := ParseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	samples, err := filepath.Glob("testdata/samples/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var sampled []string
	for _, p := range samples {
		sampled = append(sampled, strings.TrimSuffix(filepath.Base(p), ".json"))
	}
	if !slices.Equal(sampled, tpl.Names()) {
		t.Fatalf("every template needs a sample and every sample a template:\ntemplates %v\nsamples   %v", tpl.Names(), sampled)
	}
	for _, name := range tpl.Names() {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata/samples", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var s sample
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			r, err := tpl.Render(RenderParams{Template: name, Data: s.Data, Recipient: s.Recipient, Refs: s.Refs, BaseURL: sampleBaseURL + "/"})
			if err != nil {
				t.Fatal(err)
			}
			for part, got := range map[string]string{"subject": r.Subject + "\n", "txt": r.Text, "html": r.HTML} {
				golden := filepath.Join("testdata/golden", name+"."+part)
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to write it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from %s (run with -update and review the diff):\n%s", part, golden, got)
				}
			}
			if !strings.Contains(r.Text, sampleBaseURL+"/") || !strings.Contains(r.HTML, `href="`+sampleBaseURL+"/") {
				t.Errorf("%s links nowhere into the product", name)
			}
		})
	}
}

// TestTemplatesCarryNoToken: no template reads a value whose name says token: messages are
// never a way to hand out credentials.
func TestTemplatesCarryNoToken(t *testing.T) {
	t.Parallel()
	action := regexp.MustCompile(`\{\{[^}]*\}\}`)
	files, err := templateFiles.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := templateFiles.ReadFile("templates/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range action.FindAllString(string(src), -1) {
			if strings.Contains(strings.ToLower(a), "token") || strings.Contains(strings.ToLower(a), "secret") {
				t.Errorf("%s reads %s", f.Name(), a)
			}
		}
	}
}

func TestRenderNamesTheFailingTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := ParseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Render(RenderParams{Template: TemplateListingExpired, Data: map[string]any{"JobID": "j"}})
	var te *TemplateError
	if !errorsAs(err, &te) || te.Template != TemplateListingExpired {
		t.Fatalf("a missing key: got %v, want a TemplateError naming %s", err, TemplateListingExpired)
	}
	if _, err := tpl.Render(RenderParams{Template: "nope"}); !errorsAs(err, &te) || te.Template != "nope" {
		t.Fatalf("an unknown template: got %v", err)
	}
}

func TestParseTemplatesRefusesAnIncompleteTemplate(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{"templates/x.subject.tmpl": {Data: []byte("s")}, "templates/x.txt.tmpl": {Data: []byte("t")}}
	if _, err := parseTemplates(fsys); err == nil || !strings.Contains(err.Error(), "html") {
		t.Fatalf("got %v, want an error naming the missing html part", err)
	}
}
