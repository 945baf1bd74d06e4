package application

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/internal/apperr"
)

// Every handler is decorated once: a DEBUG line per call with the request's correlation
// id, an ERROR line with the detail of an internal error, and per-name metrics counting
// calls and errors by code.
func TestDecorateLogsAndCountsEveryCommand(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	outcomes := []error{nil, apperr.New(apperr.Conflict, "closed already"), errors.New("disk on fire")}
	calls := 0
	app, err := Decorate(Application{Commands: &Commands{
		CloseJob: HandlerFunc[commands.CloseJob, commands.Result](func(context.Context, commands.CloseJob) (commands.Result, error) {
			err := outcomes[calls]
			calls++
			return commands.Result{ID: "j1", Version: 2}, err
		}),
	}}, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithCorrelationID(context.Background(), "req-42")
	for range outcomes {
		_, _ = app.Commands.CloseJob.Handle(ctx, commands.CloseJob{JobID: "j1"})
	}
	if calls != 3 {
		t.Fatalf("the handler ran %d times, want 3", calls)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want one per call:\n%s", len(lines), logs.String())
	}
	for i, want := range []string{"level=DEBUG", "level=DEBUG", "level=ERROR"} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "name=CloseJob") || !strings.Contains(lines[i], "request_id=req-42") {
			t.Errorf("line %d = %s, want %s naming CloseJob and req-42", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[2], "disk on fire") || !strings.Contains(lines[1], "code=conflict") {
		t.Errorf("errors are not logged with their detail and code:\n%s", logs.String())
	}
	if n := counterValue(t, reg, "jobboard_app_handled_total", map[string]string{"kind": "command", "name": "CloseJob"}); n != 3 {
		t.Errorf("handled_total = %v, want 3", n)
	}
	for code, want := range map[string]float64{"conflict": 1, "internal": 1} {
		got := counterValue(t, reg, "jobboard_app_errors_total", map[string]string{"name": "CloseJob", "code": code})
		if got != want {
			t.Errorf("errors_total{code=%s} = %v, want %v", code, got, want)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	observed := uint64(0)
	for _, f := range families {
		if f.GetName() == "jobboard_app_handle_duration_seconds" {
			for _, m := range f.GetMetric() {
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	if observed != 3 {
		t.Errorf("the duration histogram observed %d calls, want 3", observed)
	}
}

// counterValue is the value of the counter name with labels (0 when absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
