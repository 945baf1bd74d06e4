package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jobboard/jobboard/internal/app"
)

// docker-compose.yml cannot run here (no Docker engine), so this keeps it honest: the same
// services, the same host ports and versions as stack/stack.sh, and only variables the binary
// reads.
// (TestDockerComposeCarriesNoSecret checks that the user provides the app's secrets.)
func TestDockerComposeMatchesTheLocalStack(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Ports       []string          `yaml:"ports"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../../stack/stack.sh")
	if err != nil {
		t.Fatal(err)
	}
	version := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `=(\S+)`).FindSubmatch(script)
		if m == nil {
			t.Fatalf("stack.sh has no %s", name)
		}
		return strings.TrimPrefix(string(m[1]), "v")
	}

	want := map[string]struct{ port, image string }{
		"postgres":      {"127.0.0.1:5432:5432", "postgres:"},
		"kafka":         {"127.0.0.1:9092:9092", "apache/kafka:" + version("KAFKA_VERSION")},
		"elasticsearch": {"127.0.0.1:9200:9200", "elasticsearch:" + version("ES_VERSION")},
		"stripe-mock":   {"127.0.0.1:12111:12111", "stripe/stripe-mock:v" + version("STRIPE_MOCK_VERSION")},
		"app":           {"127.0.0.1:8080:8080", ""},
	}
	for name, w := range want {
		svc, ok := compose.Services[name]
		if !ok {
			t.Errorf("service %s is missing", name)
			continue
		}
		if len(svc.Ports) != 1 || svc.Ports[0] != w.port {
			t.Errorf("%s ports = %v, want [%s]", name, svc.Ports, w.port)
		}
		if w.image != "" && !strings.HasPrefix(svc.Image, w.image) {
			t.Errorf("%s image = %q, want %s…", name, svc.Image, w.image)
		}
	}

	mp := compose.Services["mailpit"]
	if !strings.HasPrefix(mp.Image, "axllent/mailpit:v"+version("MAILPIT_VERSION")) ||
		!slices.Equal(mp.Ports, []string{"127.0.0.1:1025:1025", "127.0.0.1:8025:8025"}) {
		t.Errorf("mailpit = %s %v, want axllent/mailpit:v%s on 127.0.0.1:1025 and :8025", mp.Image, mp.Ports, version("MAILPIT_VERSION"))
	}

	app := compose.Services["app"]
	if app.Build == nil {
		t.Error("app is not built from the Dockerfile")
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.env] = true
	}
	for env := range app.Environment {
		if !known[env] {
			t.Errorf("app sets %s, which jobboard does not read", env)
		}
	}
	for _, env := range []string{"DATABASE_URL", "KAFKA_BROKERS", "ELASTICSEARCH_URL", "STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SIGNING_KEY", "HTTP_ADDR", "OPERATOR_TOKENS", "SMTP_URL", "PUBLIC_BASE_URL"} {
		if app.Environment[env] == "" {
			t.Errorf("app does not set %s", env)
		}
	}
	if pg := compose.Services["postgres"].Environment; pg["POSTGRES_USER"] != "jobboard" || pg["POSTGRES_PASSWORD"] != "jobboard" {
		t.Errorf("postgres credentials differ from the stack's: %v", pg)
	}
}

// The app listens on all interfaces of its container: its secrets come from the user's .env
// (compose interpolates ${VAR:?…}, refusing to start without them), never from the file.
func TestDockerComposeCarriesNoSecret(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range app.DevelopmentSecrets() {
		if strings.Contains(string(raw), s.Value) {
			t.Errorf("docker-compose.yml carries the development value of %s", s.Env)
		}
	}
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SIGNING_KEY", "OPERATOR_TOKENS"}
	env := compose.Services["app"].Environment
	for _, name := range secrets {
		if want := regexp.MustCompile(`^\$\{` + name + `:\?[^}]+\}$`); !want.MatchString(env[name]) {
			t.Errorf("app's %s = %q, want ${%s:?…} (required from the user)", name, env[name], name)
		}
	}
	if _, ok := env["OPERATOR_TOKEN"]; ok {
		t.Error("app sets OPERATOR_TOKEN: operators get named tokens (OPERATOR_TOKENS)")
	}
	if env["DEV_MODE"] != "" {
		t.Error("app sets DEV_MODE")
	}

	// .env.example names every secret, with no usable value; .env itself stays out of git
	// and out of the image.
	example, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, line := range strings.Split(string(example), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			values[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	for _, name := range secrets {
		if v, ok := values[name]; !ok || v != "" {
			t.Errorf(".env.example: %s = %q (present: %v), want an empty placeholder", name, v, ok)
		}
	}
	for _, ignore := range []string{"../../.gitignore", "../../.dockerignore"} {
		b, err := os.ReadFile(ignore)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^/?\.env$`).Match(b) {
			t.Errorf("%s does not ignore .env", ignore)
		}
	}
}
