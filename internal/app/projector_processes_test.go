package app_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/segmentio/kafka-go"

	"github.com/jobboard/jobboard/internal/app"
	"github.com/jobboard/jobboard/readmodels"
)

// projectorProcess is a `jobboard serve --roles projectors` process; like every process it
// serves /metrics.
type projectorProcess struct{ url string }

func startProjectorProcess(t *testing.T, bin string, cfg app.Config) projectorProcess {
	t.Helper()
	pr, pw := io.Pipe()
	startProcessTo(t, bin, cfg, pw)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`serving on (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case u := <-urls:
		return projectorProcess{url: u}
	case <-time.After(time.Minute):
		t.Fatal("the projector process did not start serving")
		return projectorProcess{}
	}
}

// handled is the process's jobboard_projection_events_handled_total for one projection.
func (p projectorProcess) handled(t *testing.T, projection string) int {
	t.Helper()
	res, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "jobboard_projection_events_handled_total{") && strings.Contains(line, `"`+projection+`"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatal(err)
			}
			total += v
		}
	}
	return int(total)
}

// Two projector processes of the same projections share the topics' partitions through
// their consumer groups, and between them apply every event exactly once.
func TestTwoProjectorProcessesShareThePartitionsAndApplyEachEventOnce(t *testing.T) {
	t.Parallel()
	bin := buildJobboard(t)
	cfg := stackConfig(t)
	cfg.KafkaPartitions = 4
	proj := cfg
	proj.Roles = []string{app.RoleProjectors}
	one := startProjectorProcess(t, bin, proj)
	two := startProjectorProcess(t, bin, proj)

	awaitStableGroups(t, cfg, 2)

	relay := cfg
	relay.Roles = []string{app.RoleRelay}
	start(t, relay)
	h := newHistory(t, cfg.DatabaseURL)
	h.seed(t, 3000, 11)
	heads := h.heads(t)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.ElasticsearchURL}})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := readmodels.NewStore(h.pool, es, readmodels.StoreConfig{SearchAlias: cfg.SearchAlias()})
	if err != nil {
		t.Fatal(err)
	}
	var events int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	for _, projection := range []string{readmodels.ReadTablesProjection, readmodels.JobSearchProjection} {
		if err := rm.WaitForStreams(context.Background(), projection, 3*time.Minute, heads...); err != nil {
			t.Fatalf("%s: %v", projection, err)
		}
		// Metrics are counted after the batch is acknowledged: let the last ones land.
		var a, b int
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			a, b = one.handled(t, projection), two.handled(t, projection)
			if a+b >= events || time.Now().After(deadline) {
				break
			}
		}
		if a == 0 || b == 0 {
			t.Errorf("%s: one process applied %d events, the other %d: the partitions were not shared", projection, a, b)
		}
		if a+b != events {
			t.Errorf("%s: the processes applied %d + %d = %d events, want each of the %d exactly once", projection, a, b, a+b, events)
		}
		t.Logf("%s: %d + %d of %d events", projection, a, b, events)
	}
}

// awaitStableGroups waits until the consumer group of every projection is stable with the
// members of `processes` projector processes (each subscribes once per topic: 4 stream
// types) all owning partitions, so no rebalance moves a partition while a test measures.
func awaitStableGroups(t testing.TB, cfg app.Config, processes int) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(cfg.KafkaBrokers...)}
	for _, projection := range []string{readmodels.ReadTablesProjection, readmodels.JobSearchProjection} {
		group := cfg.KafkaTopicPrefix + projection
		deadline := time.Now().Add(90 * time.Second)
		for {
			res, err := client.DescribeGroups(context.Background(), &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
			stable := err == nil && len(res.Groups) == 1 && res.Groups[0].GroupState == "Stable" && len(res.Groups[0].Members) == processes*4
			if stable {
				for _, m := range res.Groups[0].Members {
					n := 0
					for _, tp := range m.MemberAssignments.Topics {
						n += len(tp.Partitions)
					}
					stable = stable && n > 0
				}
			}
			if stable {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("group %s never became stable with %d processes' members owning partitions (err %v)", group, processes, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
