package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jobboard/jobboard/internal/app"
)

// The Helm chart in deploy/jobboard must keep up with the binary: one Deployment per role
// `serve --roles` knows, every non-secret setting as a value at the binary's default, the
// secrets only from the Secret it names, DEV_MODE never. deploy/check-chart.sh (make chart)
// installs the helm these tests run and validates the manifests against Kubernetes' schemas.

const chartDir = "../../deploy/jobboard"

// chartOnly are the variables the chart sets itself (or, DEV_MODE, never); secretOnly may
// come only from the existing Secret.
var (
	chartOnly  = []string{"HTTP_ADDR", "ROLES", "DEV_MODE"}
	secretOnly = []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SIGNING_KEY", "OPERATOR_TOKEN", "OPERATOR_TOKENS", "SMTP_URL"}
	// The engines' addresses default to in-cluster names, not the local stack's loopback.
	addresses = []string{"DATABASE_URL", "KAFKA_BROKERS", "ELASTICSEARCH_URL", "STRIPE_API_BASE", "MAIL_FROM", "PUBLIC_BASE_URL"}
	// The replication settings default to a single node in the binary and to replicated
	// engines in the chart.
	replicated = []string{"KAFKA_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS", "ELASTICSEARCH_REPLICAS"}
)

type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name        string            `yaml:"name"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Template struct {
			Spec struct {
				Containers []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Args    []string `yaml:"args"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	LivenessProbe  probe `yaml:"livenessProbe"`
	ReadinessProbe probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

func (c container) env(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// helmTemplate renders the chart with the --set arguments given; helm's error output is
// the error.
func helmTemplate(t *testing.T, set ...string) (string, error) {
	t.Helper()
	helm := "../../bin/tools/helm"
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("no helm in bin/tools: run ./deploy/check-chart.sh (make chart) first: %v", err)
	}
	args := []string{"template", "jobboard", chartDir, "--kube-version", "1.30.0"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", errors.New(stderr.String())
	}
	return out.String(), nil
}

func render(t *testing.T, set ...string) (string, []manifest) {
	t.Helper()
	raw, err := helmTemplate(t, set...)
	if err != nil {
		t.Fatalf("helm template: %s", err)
	}
	var docs []manifest
	dec := yaml.NewDecoder(strings.NewReader(raw))
	for {
		var m manifest
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if m.Kind != "" {
			docs = append(docs, m)
		}
	}
	return raw, docs
}

func TestChartRunsEachRoleOfTheBinaryInItsOwnDeployment(t *testing.T) {
	t.Parallel()
	_, docs := render(t)
	var roles []string
	replicas := map[string]int{}
	for _, d := range docs {
		if d.Kind != "Deployment" {
			continue
		}
		cs := d.Spec.Template.Spec.Containers
		if len(cs) != 1 {
			t.Fatalf("%s has %d containers, want 1", d.Metadata.Name, len(cs))
		}
		c := cs[0]
		role, ok := c.env("ROLES")
		if !ok || strings.Contains(role, ",") {
			t.Errorf("%s: ROLES = %q, want exactly one role", d.Metadata.Name, role)
		}
		roles = append(roles, role)
		replicas[role] = *d.Spec.Replicas
		if !slices.Equal(c.Args, []string{"serve"}) {
			t.Errorf("%s runs %v, want serve", d.Metadata.Name, c.Args)
		}
		if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Errorf("%s probes %q (liveness) and %q (readiness), want /healthz and /readyz",
				d.Metadata.Name, c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
		}
		for _, r := range []string{"cpu", "memory"} {
			if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
				t.Errorf("%s: no %s request or limit: %+v", d.Metadata.Name, r, c.Resources)
			}
		}
	}
	slices.Sort(roles)
	want := slices.Sorted(slices.Values(app.AllRoles))
	if !slices.Equal(roles, want) {
		t.Errorf("Deployments run the roles %v, the binary knows %v", roles, want)
	}
	if replicas[app.RoleRelay] < 2 || replicas[app.RoleAPI] < 2 {
		t.Errorf("replicas %v: want at least 2 relays (a hot standby) and 2 api pods", replicas)
	}

	// More projectors than partitions would idle: the chart refuses them.
	if _, err := helmTemplate(t, "roles.projectors.replicas=9", "config.KAFKA_PARTITIONS=8"); err == nil ||
		!strings.Contains(err.Error(), "exceeds config.KAFKA_PARTITIONS") {
		t.Errorf("9 projectors for 8 partitions rendered (err %v)", err)
	}
	if _, err := helmTemplate(t, "roles.projectors.replicas=8", "config.KAFKA_PARTITIONS=8"); err != nil {
		t.Errorf("8 projectors for 8 partitions: %v", err)
	}
	if _, err := helmTemplate(t, "roles.relay.replicas=1"); err == nil {
		t.Error("a lone relay (no standby) rendered")
	}
	// values.schema.json: a misspelt value fails instead of being ignored.
	if _, err := helmTemplate(t, "roles.api.replica=3"); err == nil || !strings.Contains(err.Error(), "replica") {
		t.Errorf("roles.api.replica (a typo) rendered (err %v)", err)
	}
}

func TestChartValuesAreTheBinarysSettings(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Config map[string]string `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		v, ok := values.Config[s.env]
		switch {
		case slices.Contains(chartOnly, s.env) || slices.Contains(secretOnly, s.env):
			if ok {
				t.Errorf("values.yaml config sets %s", s.env)
			}
		case !ok:
			t.Errorf("values.yaml config lacks %s (default %q)", s.env, s.def)
		case v != s.def && !slices.Contains(addresses, s.env) && !slices.Contains(replicated, s.env):
			t.Errorf("values.yaml config %s = %q, the binary's default is %q", s.env, v, s.def)
		}
	}
	for env := range values.Config {
		if !slices.ContainsFunc(settings, func(s setting) bool { return s.env == env }) {
			t.Errorf("values.yaml config sets %s, which jobboard does not read", env)
		}
	}

	// Rendered, every container carries exactly those (the non-empty ones) plus what the
	// chart owns and the Go runtime's GOMEMLIMIT.
	_, docs := render(t)
	for _, d := range docs {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				_, inValues := values.Config[e.Name]
				if !inValues && e.Name != "HTTP_ADDR" && e.Name != "ROLES" && e.Name != "GOMEMLIMIT" {
					t.Errorf("%s sets %s", d.Metadata.Name, e.Name)
				}
			}
			if addr, _ := c.env("HTTP_ADDR"); addr != ":8080" {
				t.Errorf("%s: HTTP_ADDR = %q, want :8080", d.Metadata.Name, addr)
			}
			if p, _ := c.env("KAFKA_PARTITIONS"); p != values.Config["KAFKA_PARTITIONS"] {
				t.Errorf("%s: KAFKA_PARTITIONS = %q", d.Metadata.Name, p)
			}
		}
	}
}

func TestChartTakesSecretsOnlyFromTheNamedSecretAndNeverSetsDevMode(t *testing.T) {
	t.Parallel()
	out, docs := render(t, "existingSecret=prod-jobboard", "metrics.serviceMonitor.enabled=true")
	if strings.Contains(out, "DEV_MODE") {
		t.Error("the rendered chart mentions DEV_MODE")
	}
	for _, s := range app.DevelopmentSecrets() {
		if strings.Contains(out, s.Value) {
			t.Errorf("the rendered chart carries the development value of %s", s.Env)
		}
	}
	var migrate bool
	for _, d := range docs {
		if d.Kind == "Secret" || d.Kind == "ConfigMap" {
			t.Errorf("the chart renders a %s (%s)", d.Kind, d.Metadata.Name)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "prod-jobboard" {
				t.Errorf("%s: envFrom %+v, want the Secret prod-jobboard", d.Metadata.Name, c.EnvFrom)
			}
		}
		if d.Kind == "Job" {
			migrate = true
			if got := d.Metadata.Annotations["helm.sh/hook"]; got != "pre-install,pre-upgrade" {
				t.Errorf("migration Job hook = %q, want pre-install,pre-upgrade", got)
			}
			if c := d.Spec.Template.Spec.Containers; len(c) != 1 || !slices.Equal(c[0].Args, []string{"migrate", "up"}) {
				t.Errorf("migration Job runs %+v, want migrate up", c)
			}
		}
	}
	if !migrate {
		t.Error("no migration Job")
	}

	for _, env := range append(slices.Clone(chartOnly), secretOnly...) {
		if _, err := helmTemplate(t, "config."+env+"=true"); err == nil {
			t.Errorf("config.%s rendered", env)
		}
	}
	if _, err := helmTemplate(t, "existingSecret="); err == nil {
		t.Error("rendered without existingSecret")
	}
}
