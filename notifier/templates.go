package notifier

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"math"
	"net/url"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// Contact is a resolved recipient or reference: what a template reads as .Recipient or by
// the name of a Ref.
type Contact struct {
	Name  string
	Email string
}

// Rendered is a message ready to send.
type Rendered struct {
	Subject, HTML, Text string
}

// TemplateError is a message that cannot be rendered: retrying cannot fix it, so the sender
// gives up on the message at once and names the template.
type TemplateError struct {
	Template string
	Err      error
}

func (e *TemplateError) Error() string { return fmt.Sprintf("template %s: %v", e.Template, e.Err) }
func (e *TemplateError) Unwrap() error { return e.Err }

type messageTemplate struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// Templates are the parsed message templates, by name.
type Templates struct {
	byName map[string]messageTemplate
}

// funcs are the helpers every template may use.
var funcs = map[string]any{
	// excerpt shortens s to at most n characters, on a word boundary, with "…".
	"excerpt": func(n int, s string) string {
		s = strings.Join(strings.Fields(s), " ")
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		r := []rune(s)[:n]
		if i := strings.LastIndexByte(string(r), ' '); i > n/2 {
			return string(r)[:i] + "…"
		}
		return string(r) + "…"
	},
	// money formats an amount in minor units ("4900", "EUR" → "49.00 EUR").
	"money": func(amount any, currency string) string {
		var v float64
		switch a := amount.(type) {
		case float64:
			v = a
		case int64:
			v = float64(a)
		case int:
			v = float64(a)
		}
		return fmt.Sprintf("%.2f %s", math.Round(v)/100, strings.ToUpper(currency))
	},
	// date formats an RFC 3339 time as "2 January 2006" (UTC).
	"date": func(v string) (string, error) {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return "", err
		}
		return t.UTC().Format("2 January 2006"), nil
	},
	// path escapes one path segment of a link.
	"path": url.PathEscape,
}

// ParseTemplates parses the embedded templates; every name needs all three files.
func ParseTemplates() (*Templates, error) { return parseTemplates(templateFiles) }

func parseTemplates(fsys fs.FS) (*Templates, error) {
	paths, err := fs.Glob(fsys, "templates/*.tmpl")
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, p := range paths {
		base := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".tmpl")
		name, part, ok := strings.Cut(base, ".")
		if !ok || (part != "subject" && part != "html" && part != "txt") {
			return nil, fmt.Errorf("notifier: template file %s: want <name>.subject|html|txt.tmpl", p)
		}
		names[name] = true
	}
	t := &Templates{byName: map[string]messageTemplate{}}
	for name := range names {
		read := func(part string) (string, error) {
			b, err := fs.ReadFile(fsys, "templates/"+name+"."+part+".tmpl")
			if err != nil {
				return "", fmt.Errorf("notifier: template %s lacks its %s part: %w", name, part, err)
			}
			return string(b), nil
		}
		var mt messageTemplate
		src, err := read("subject")
		if err != nil {
			return nil, err
		}
		if mt.subject, err = texttemplate.New(name + ".subject").Option("missingkey=error").Funcs(funcs).Parse(src); err != nil {
			return nil, fmt.Errorf("notifier: %w", err)
		}
		if src, err = read("txt"); err != nil {
			return nil, err
		}
		if mt.text, err = texttemplate.New(name + ".txt").Option("missingkey=error").Funcs(funcs).Parse(src); err != nil {
			return nil, fmt.Errorf("notifier: %w", err)
		}
		if src, err = read("html"); err != nil {
			return nil, err
		}
		if mt.html, err = htmltemplate.New(name + ".html").Option("missingkey=error").Funcs(funcs).Parse(src); err != nil {
			return nil, fmt.Errorf("notifier: %w", err)
		}
		t.byName[name] = mt
	}
	return t, nil
}

// Names are the template names, sorted.
func (t *Templates) Names() []string {
	out := make([]string, 0, len(t.byName))
	for n := range t.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RenderParams is what one message is rendered from.
type RenderParams struct {
	Template  string
	Data      map[string]any
	Recipient Contact
	Refs      map[string]Contact
	BaseURL   string
}

// Render renders a message. Its errors are *TemplateError.
func (t *Templates) Render(p RenderParams) (Rendered, error) {
	mt, ok := t.byName[p.Template]
	if !ok {
		return Rendered{}, &TemplateError{Template: p.Template, Err: fmt.Errorf("no such template")}
	}
	root := make(map[string]any, len(p.Data)+len(p.Refs)+2)
	for k, v := range p.Data {
		root[k] = v
	}
	for k, v := range p.Refs {
		root[k] = v
	}
	root["Recipient"] = p.Recipient
	root["BaseURL"] = strings.TrimRight(p.BaseURL, "/")
	var out Rendered
	var b bytes.Buffer
	if err := mt.subject.Execute(&b, root); err != nil {
		return Rendered{}, &TemplateError{Template: p.Template, Err: err}
	}
	out.Subject = strings.Join(strings.Fields(b.String()), " ")
	if out.Subject == "" {
		return Rendered{}, &TemplateError{Template: p.Template, Err: fmt.Errorf("empty subject")}
	}
	b.Reset()
	if err := mt.text.Execute(&b, root); err != nil {
		return Rendered{}, &TemplateError{Template: p.Template, Err: err}
	}
	out.Text = b.String()
	b.Reset()
	if err := mt.html.Execute(&b, root); err != nil {
		return Rendered{}, &TemplateError{Template: p.Template, Err: err}
	}
	out.HTML = b.String()
	return out, nil
}
