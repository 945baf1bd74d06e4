//go:build chaos

package app_test

// The chaos run (make chaos; docs/CHAOS.md): two processes of every role against the local
// cluster (stack/cluster.sh), a steady load of commands through the API, and kill -9 of an
// engine node or a process at random moments. Then it checks that nothing acknowledged was
// lost, that every event reached Kafka, and that both read models equal a rebuild.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/jobboard/jobboard/bus"
	"github.com/jobboard/jobboard/internal/testenv"
)

const (
	chaosPrimary       = "127.0.0.1:15432"
	chaosWebhookSecret = "whsec_chaos_run_webhook_secret"
	chaosSigningKey    = "chaos-run-signing-key-of-32-bytes-at-least"
	chaosFaultGrace    = 15 * time.Second // a fault's window lasts this long after its recovery
)

var (
	chaosBrokers = []string{"127.0.0.1:19092", "127.0.0.1:19093", "127.0.0.1:19094"}
	chaosES      = "http://127.0.0.1:19200,http://127.0.0.1:19201"
)

// ---------------------------------------------------------------------------------------------
// Processes

// chaosProc is one `jobboard serve --roles X` process, restartable on the same port.
type chaosProc struct {
	name, role string
	port       int
	env        []string
	bin        string
	logPath    string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	killed  bool // by the run; an exit otherwise is unexpected
	crashes []string
}

func (p *chaosProc) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.bin, "serve")
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.killed = cmd, exited, false
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		if !p.killed {
			p.crashes = append(p.crashes, fmt.Sprintf("%s exited by itself at %s: %v", p.name, time.Now().UTC().Format(time.TimeOnly), err))
		}
		p.mu.Unlock()
		close(exited)
	}()
	p.waitHealthy(t)
}

func (p *chaosProc) url() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

func (p *chaosProc) waitHealthy(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(p.url() + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s did not answer /healthz (log: %s)", p.name, p.logPath)
}

func (p *chaosProc) kill() {
	p.mu.Lock()
	p.killed = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// alive reports whether the process runs; one that died by itself is restarted by the
// supervisor, as an orchestrator would.
func (p *chaosProc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ---------------------------------------------------------------------------------------------
// The load and its record

type outcome struct {
	at       time.Time
	route    string
	status   int // 0: no answer (connection refused or reset)
	instance string
}

type ack struct {
	stream  string
	version int64
	route   string
}

type recorder struct {
	mu       sync.Mutex
	outcomes []outcome
	acks     []ack
	gaveUp   []string
}

func (r *recorder) add(o outcome) { r.mu.Lock(); r.outcomes = append(r.outcomes, o); r.mu.Unlock() }
func (r *recorder) ack(a ack)     { r.mu.Lock(); r.acks = append(r.acks, a); r.mu.Unlock() }

var idPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// loadClient sends requests round-robin over the API instances: the small balancer of the
// test client (the product has no proxy of its own). A request that finds no instance, or
// is answered 502/503/504, is sent again (to the next instance) with the same
// Idempotency-Key, as a client following Retry-After does; every answer is recorded.
type loadClient struct {
	apis []string
	next atomic.Uint64
	http *http.Client
	rec  *recorder
}

type resp struct {
	status int
	body   map[string]any
	raw    []byte
}

func (r resp) str(k string) string { s, _ := r.body[k].(string); return s }

func (c *loadClient) call(ctx context.Context, method, path, token string, body any, headers ...string) resp {
	var payload []byte
	if body != nil {
		switch b := body.(type) {
		case []byte:
			payload = b
		default:
			payload, _ = json.Marshal(b)
		}
	}
	idem := ""
	if method == http.MethodPost && path != "/v1/stripe/webhook" {
		idem = uuid.NewString() + uuid.NewString()
	}
	route := method + " " + idPattern.ReplaceAllString(path, "{id}")
	if i := strings.IndexByte(route, '?'); i > 0 {
		route = route[:i]
	}
	for attempt := 0; ctx.Err() == nil && attempt < 60; attempt++ {
		base := c.apis[c.next.Add(1)%uint64(len(c.apis))]
		req, _ := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(payload))
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.rec.add(outcome{at: time.Now(), route: route, status: 0, instance: base})
			time.Sleep(200 * time.Millisecond)
			continue
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		c.rec.add(outcome{at: time.Now(), route: route, status: res.StatusCode, instance: base})
		r := resp{status: res.StatusCode, raw: raw}
		_ = json.Unmarshal(raw, &r.body)
		if res.StatusCode == 502 || res.StatusCode == 503 || res.StatusCode == 504 || res.StatusCode == 500 {
			wait := 500 * time.Millisecond
			if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil {
				wait = time.Duration(s) * time.Second
			}
			time.Sleep(wait)
			continue
		}
		return r
	}
	if ctx.Err() == nil { // not the end of the load cutting a request short
		c.rec.mu.Lock()
		c.rec.gaveUp = append(c.rec.gaveUp, route)
		c.rec.mu.Unlock()
	}
	return resp{}
}

// command sends a command and records its acknowledgement: stream at the answer's version.
func (c *loadClient) command(ctx context.Context, stream func(resp) string, method, path, token string, body any, headers ...string) resp {
	r := c.call(ctx, method, path, token, body, headers...)
	if r.status >= 200 && r.status < 300 {
		v, _ := r.body["version"].(float64)
		c.rec.ack(ack{stream: stream(r), version: int64(v), route: method + " " + idPattern.ReplaceAllString(path, "{id}")})
	}
	return r
}

func idOf(r resp) string { return r.str("id") }

// scenario is one employer's and one candidate's story: sign-ups, a job, its payment through
// stripe-mock and a signed webhook, a read of the job on the replica with the webhook's
// consistency token, a search, an application and its status changes, sometimes an edit
// and a close.
func (c *loadClient) scenario(ctx context.Context, t *testing.T, r *rand.Rand) {
	company := c.command(ctx, idOf, "POST", "/v1/companies", "", map[string]any{"name": "Chaos Co", "email": uuid.NewString() + "@chaos.test"})
	if company.status != 201 {
		return
	}
	ctoken := company.str("token")
	body := jobBody()
	body["title"] = "Chaos engineer " + strconv.Itoa(r.IntN(1000))
	job := c.command(ctx, idOf, "POST", "/v1/jobs", ctoken, body)
	if job.status != 201 {
		return
	}
	jobID := job.str("id")
	byJob := func(resp) string { return jobID }
	pay := c.command(ctx, byJob, "POST", "/v1/jobs/"+jobID+"/payments", ctoken, map[string]any{"plan": []string{"standard", "featured"}[r.IntN(2)]})
	if pay.status != 201 && pay.status != 200 {
		return
	}
	amount := pay.body["amount"]
	pi := map[string]any{
		"id": pay.str("payment_intent_id"), "object": "payment_intent", "status": "succeeded",
		"amount": amount, "amount_received": amount, "currency": strings.ToLower(pay.str("currency")),
		"metadata": map[string]string{"job_id": jobID, "payment_id": pay.str("payment_id")},
	}
	payload, sig := signedWebhook(t, chaosWebhookSecret, "payment_intent.succeeded", pi)
	hook := c.command(ctx, byJob, "POST", "/v1/stripe/webhook", "", payload, "Stripe-Signature", sig)
	if hook.status != 200 {
		return
	}
	c.call(ctx, "GET", "/v1/jobs/"+jobID, "", nil, "X-Consistency-Token", hook.str("consistency_token"))
	c.call(ctx, "GET", "/v1/jobs?q=chaos&limit=5", "", nil)
	cand := c.command(ctx, idOf, "POST", "/v1/candidates", "", map[string]any{"name": "Chaos Candidate", "email": uuid.NewString() + "@chaos.test"})
	if cand.status != 201 {
		return
	}
	app := c.command(ctx, idOf, "POST", "/v1/jobs/"+jobID+"/applications", cand.str("token"), map[string]any{"resume_url": "https://example.test/cv.pdf"})
	if app.status != 201 {
		return
	}
	appID := app.str("id")
	byApp := func(resp) string { return appID }
	c.command(ctx, byApp, "POST", "/v1/applications/"+appID+"/status", ctoken, map[string]any{"status": "reviewing"})
	if r.IntN(2) == 0 {
		c.command(ctx, byApp, "POST", "/v1/applications/"+appID+"/status", ctoken, map[string]any{"status": "interviewing"})
	}
	switch r.IntN(4) {
	case 0:
		c.command(ctx, byJob, "POST", "/v1/jobs/"+jobID+"/close", ctoken, nil)
	case 1:
		v, _ := hook.body["version"].(float64)
		if v == 0 {
			return
		}
		c.command(ctx, byJob, "PATCH", "/v1/jobs/"+jobID, ctoken, map[string]any{"title": "Chaos engineer (edited)"},
			"If-Match", strconv.Itoa(int(v)))
	}
}

// ---------------------------------------------------------------------------------------------
// Faults

type fault struct {
	Kind, Target         string
	Killed, Back, Closed time.Time // Closed: the end of its window (Back + grace)
}

type chaosRun struct {
	t       *testing.T
	root    string
	db      string
	dbURL   string
	procs   map[string]*chaosProc
	faults  []fault
	faultMu sync.Mutex
}

func (cr *chaosRun) cluster(args ...string) {
	cr.t.Helper()
	out, err := exec.Command(filepath.Join(cr.root, "stack/cluster.sh"), args...).CombinedOutput()
	if err != nil {
		cr.t.Fatalf("cluster.sh %v: %v\n%s", args, err, out)
	}
}

// activeRelay is the relay process holding the relay's advisory lock: the pg session with
// that lock names its process in application_name.
func (cr *chaosRun) activeRelay(ctx context.Context) string {
	conn, err := pgx.Connect(ctx, cr.dbURL)
	if err != nil {
		cr.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var name string
	err = conn.QueryRow(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND a.datname = $1 AND a.application_name LIKE 'relay-%' LIMIT 1`, cr.db).Scan(&name)
	if err != nil {
		cr.t.Fatalf("which relay is active: %v", err)
	}
	return name
}

func (cr *chaosRun) inject(ctx context.Context, kind string, r *rand.Rand) {
	down := time.Duration(5+r.IntN(8)) * time.Second
	f := fault{Kind: kind}
	switch kind {
	case "kafka broker", "elasticsearch node", "postgres replica":
		switch kind {
		case "kafka broker":
			f.Target = fmt.Sprintf("kafka-%d", 1+r.IntN(3))
		case "elasticsearch node":
			f.Target = fmt.Sprintf("es-%d", 1+r.IntN(2))
		default:
			f.Target = "pg-replica"
		}
		f.Killed = time.Now()
		cr.cluster("kill", f.Target)
		time.Sleep(down)
		cr.cluster("up", f.Target)
	default:
		switch kind {
		case "active relay":
			f.Target = cr.activeRelay(ctx)
		case "projector":
			f.Target = fmt.Sprintf("projectors-%d", 1+r.IntN(2))
		case "api instance":
			f.Target = fmt.Sprintf("api-%d", 1+r.IntN(2))
		}
		p := cr.procs[f.Target]
		f.Killed = time.Now()
		p.kill()
		time.Sleep(down)
		p.start(cr.t)
	}
	f.Back = time.Now()
	f.Closed = f.Back.Add(chaosFaultGrace)
	cr.faultMu.Lock()
	cr.faults = append(cr.faults, f)
	cr.faultMu.Unlock()
	cr.t.Logf("fault: %s %s killed %s, back %s", f.Kind, f.Target, f.Killed.Format(time.TimeOnly), f.Back.Format(time.TimeOnly))
}

func (cr *chaosRun) inWindow(at time.Time) bool {
	cr.faultMu.Lock()
	defer cr.faultMu.Unlock()
	for _, f := range cr.faults {
		if !at.Before(f.Killed) && !at.After(f.Closed) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------------------------

func TestChaos(t *testing.T) {
	duration := 3 * time.Minute
	if v := os.Getenv("CHAOS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CHAOS_DURATION: %v", err)
		}
		duration = d
	}
	workers := 4
	if v := os.Getenv("CHAOS_WORKERS"); v != "" {
		workers, _ = strconv.Atoi(v)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	root, _ := filepath.Abs("../..")
	cr := &chaosRun{t: t, root: root, procs: map[string]*chaosProc{}}
	cr.cluster("up")

	ctx := context.Background()
	// A fresh database on the primary (it replicates to the replica), topics and indices.
	sfx := testenv.RandomSuffix()
	cr.db = "chaos_" + sfx
	admin, err := pgx.Connect(ctx, "postgres://jobboard:jobboard@"+chaosPrimary+"/jobboard?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+cr.db); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	dsn := func(host, app string) string {
		return "postgres://jobboard:jobboard@" + host + "/" + cr.db + "?sslmode=disable&application_name=" + app
	}
	cr.dbURL = dsn(chaosPrimary, "chaos-harness")
	bin := buildJobboard(t)
	logDir := filepath.Join(root, ".stack/cluster/chaos-"+sfx)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	common := []string{
		"DATABASE_READ_URL=" + dsn("127.0.0.1:15433", "replica-reader"),
		"KAFKA_BROKERS=" + strings.Join(chaosBrokers, ","),
		"KAFKA_REPLICATION_FACTOR=3", "KAFKA_MIN_INSYNC_REPLICAS=2", "KAFKA_PARTITIONS=4",
		"ELASTICSEARCH_URL=" + chaosES, "ELASTICSEARCH_SHARDS=1", "ELASTICSEARCH_REPLICAS=1",
		"KAFKA_TOPIC_PREFIX=chaos" + sfx + ".", "ELASTICSEARCH_INDEX_PREFIX=chaos" + sfx + "-",
		"STRIPE_API_BASE=http://127.0.0.1:12111", "STRIPE_WEBHOOK_SECRET=" + chaosWebhookSecret,
		"OPERATOR_TOKEN=" + operatorToken, "SIGNING_KEY=" + chaosSigningKey,
		"RATE_LIMIT_REGISTRATION=0", "RATE_LIMIT_APPLICATION=0", "RATE_LIMIT_SEARCH=0", "RATE_LIMIT_EMPLOYER=0",
		"CONSISTENCY_POLL_INTERVAL=200ms", "EXPIRY_INTERVAL=10s", "LOG_LEVEL=warn",
		// The run shares 2 cores with 8 engine processes, 8 of ours and whatever else runs:
		// the production time budgets (2 s per search, 5 s per consistency wait) measure
		// that machine's load, not the faults. The faults' effects are what is asserted.
		"SEARCH_TIMEOUT=10s", "CONSISTENCY_TIMEOUT=30s",
	}
	migrate := exec.Command(bin, "migrate", "up")
	migrate.Env = append(os.Environ(), append(common, "DATABASE_URL="+cr.dbURL)...)
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	var order []string
	for _, role := range []string{"api", "relay", "projectors", "scheduler"} {
		for i := 1; i <= 2; i++ {
			name := fmt.Sprintf("%s-%d", role, i)
			p := &chaosProc{name: name, role: role, port: freePort(t), bin: bin, logPath: filepath.Join(logDir, name+".log")}
			p.env = append(slices.Clone(common), "DATABASE_URL="+dsn(chaosPrimary, name), "ROLES="+role,
				"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(p.port))
			cr.procs[name] = p
			order = append(order, name)
		}
	}
	for _, name := range order {
		cr.procs[name].start(t)
	}
	t.Cleanup(func() {
		for _, name := range order {
			if p := cr.procs[name]; p.alive() {
				p.kill()
			}
		}
	})
	rec := &recorder{}
	lc := &loadClient{
		apis: []string{cr.procs["api-1"].url(), cr.procs["api-2"].url()},
		http: &http.Client{Timeout: 60 * time.Second},
		rec:  rec,
	}
	// Warm up: one scenario, and the projectors' groups settle, before the clock starts.
	lc.scenario(ctx, t, rand.New(rand.NewPCG(seed, 0)))
	time.Sleep(5 * time.Second)

	// The load.
	loadCtx, stopLoad := context.WithCancel(ctx)
	start := time.Now()
	loadAtStart := loadAvg()
	var storeStart int64
	{
		conn, err := pgx.Connect(ctx, cr.dbURL)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&storeStart)
		conn.Close(ctx)
	}
	var wg sync.WaitGroup
	var scenarios atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(w+1)))
			for loadCtx.Err() == nil {
				lc.scenario(loadCtx, t, r)
				scenarios.Add(1)
			}
		}()
	}
	// The supervisor restarts a process that died by itself (an orchestrator would).
	supCtx, stopSup := context.WithCancel(ctx)
	var supWG sync.WaitGroup
	supWG.Add(1)
	go func() {
		defer supWG.Done()
		for supCtx.Err() == nil {
			for _, name := range order {
				p := cr.procs[name]
				p.mu.Lock()
				dead := !p.killed && p.exited != nil && func() bool {
					select {
					case <-p.exited:
						return true
					default:
						return false
					}
				}()
				p.mu.Unlock()
				if dead {
					p.start(t)
				}
			}
			select {
			case <-supCtx.Done():
			case <-time.After(time.Second):
			}
		}
	}()

	// The faults: one of each kind, in a random order, each in its own slot of the run.
	r := rand.New(rand.NewPCG(seed, 99))
	kinds := []string{"kafka broker", "elasticsearch node", "active relay", "projector", "api instance", "postgres replica"}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	slot := duration / time.Duration(len(kinds)+1)
	for i, kind := range kinds {
		at := start.Add(time.Duration(i)*slot + slot/2 + time.Duration(r.Int64N(int64(slot/2))))
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		cr.inject(ctx, kind, r)
	}
	if d := time.Until(start.Add(duration)); d > 0 {
		time.Sleep(d)
	}
	stopLoad()
	wg.Wait()
	loadEnd := time.Now()
	stopSup()
	supWG.Wait()

	// ------------------------------------------------------------------------------------
	// Verification
	rep := &chaosReport{Seed: seed, Duration: loadEnd.Sub(start), Workers: workers, Scenarios: scenarios.Load(), Faults: cr.faults,
		LoadAvg: []string{loadAtStart, loadAvg()}}
	for _, name := range order {
		rep.Crashes = append(rep.Crashes, cr.procs[name].crashes...)
	}
	conn, err := pgx.Connect(ctx, cr.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var storeEnd int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&storeEnd); err != nil {
		t.Fatal(err)
	}
	rep.Events = storeEnd - storeStart
	rep.StoredEvents = storeEnd

	// 1. Every acknowledged command is in the store.
	rep.Acks = len(rec.acks)
	for _, a := range rec.acks {
		var v int64
		if err := conn.QueryRow(ctx, `SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1`, a.stream).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v == 0 || v < a.version {
			rep.LostAcks = append(rep.LostAcks, fmt.Sprintf("%s %s v%d (store: v%d)", a.route, a.stream, a.version, v))
		}
	}

	// 5xx outside and inside the fault windows.
	for _, o := range rec.outcomes {
		rep.Requests++
		in := cr.inWindow(o.at)
		switch {
		case o.status == 0:
			rep.NoAnswer++
			if !in {
				rep.Outside5xx = append(rep.Outside5xx, fmt.Sprintf("%s %s no answer from %s", o.at.Format(time.TimeOnly), o.route, o.instance))
			}
		case o.status >= 500:
			key := fmt.Sprintf("%d %s", o.status, o.route)
			if in {
				if rep.Inside5xx == nil {
					rep.Inside5xx = map[string]int{}
				}
				rep.Inside5xx[key]++
			} else {
				rep.Outside5xx = append(rep.Outside5xx, o.at.Format(time.TimeOnly)+" "+key)
			}
		}
	}
	rep.GaveUp = rec.gaveUp

	// Let the system settle: both projections catch up (the relay publishes everything).
	admin2 := &loadClient{apis: lc.apis, http: lc.http, rec: &recorder{}}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		a := admin2.call(ctx, "GET", "/v1/admin/projections", operatorToken, nil)
		lag := int64(-1)
		var list []struct {
			Lag int64 `json:"lag_events"`
		}
		if json.Unmarshal(a.raw, &list) == nil && len(list) > 0 {
			lag = 0
			for _, it := range list {
				lag += it.Lag
			}
		}
		if lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the projections did not catch up in 5 minutes: %s", a.raw)
		}
		time.Sleep(time.Second)
	}
	rep.Settled = time.Since(loadEnd)

	// 2. Every stored event reached Kafka.
	rep.KafkaMissing, rep.KafkaMessages, rep.KafkaDistinct = cr.checkKafka(ctx, conn, "chaos"+sfx+".")

	// 3. Both read models equal a rebuild from the store.
	for _, p := range order {
		if strings.HasPrefix(p, "projectors") || strings.HasPrefix(p, "scheduler") {
			cr.procs[p].kill() // nothing may write version N while it is compared
		}
	}
	for _, projection := range []string{"ReadTablesProjector", "JobSearchProjector"} {
		cmd := exec.Command(bin, "projections", "rebuild", projection)
		cmd.Env = append(os.Environ(), append(common, "DATABASE_URL="+cr.dbURL)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rebuild %s: %v\n%s", projection, err, out)
		}
		rep.Rebuilds = append(rep.Rebuilds, strings.TrimSpace(lastLine(string(out))))
	}
	rep.Tables = cr.compareTables(ctx, conn)
	rep.Docs = cr.compareDocs(ctx, conn)

	rep.write(t, filepath.Join(root, "docs/CHAOS.md"))
	if len(rep.LostAcks) > 0 {
		t.Errorf("%d acknowledged commands are not in the store: %v", len(rep.LostAcks), head(rep.LostAcks))
	}
	if len(rep.KafkaMissing) > 0 {
		t.Errorf("%d stored events never reached Kafka: %v", len(rep.KafkaMissing), head(rep.KafkaMissing))
	}
	for _, c := range append(rep.Tables, rep.Docs...) {
		if c.Diff != 0 {
			t.Errorf("%s: %d rows differ between version %d and its rebuild", c.Name, c.Diff, c.From)
		}
	}
	if len(rep.Outside5xx) > 0 {
		t.Errorf("%d 5xx or unanswered requests outside the fault windows: %v", len(rep.Outside5xx), head(rep.Outside5xx))
	}
	for k := range rep.Inside5xx {
		if !strings.HasPrefix(k, "503 ") && !strings.HasPrefix(k, "504 GET") {
			t.Errorf("inside a fault window: %s (%d times), not a retriable 503", k, rep.Inside5xx[k])
		}
	}
	if len(rep.GaveUp) > 0 {
		t.Errorf("%d requests were given up after 60 attempts: %v", len(rep.GaveUp), head(rep.GaveUp))
	}
}

func head(s []string) []string { return s[:min(len(s), 10)] }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// checkKafka reads every partition of every event topic from the start and returns the
// stored events missing there, the messages read and the distinct event ids among them.
func (cr *chaosRun) checkKafka(ctx context.Context, conn *pgx.Conn, prefix string) (missing []string, messages, distinct int) {
	t := cr.t
	rows, err := conn.Query(ctx, `SELECT event_id::text, stream_type FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	types := map[string]bool{}
	var id, typ string
	if _, err := pgx.ForEachRow(rows, []any{&id, &typ}, func() error { stored[id] = typ; types[typ] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for typ := range types {
		topic := prefix + "events." + typ
		c, err := kafka.DialContext(ctx, "tcp", chaosBrokers[0])
		if err != nil {
			t.Fatal(err)
		}
		parts, err := c.ReadPartitions(topic)
		c.Close()
		if err != nil {
			t.Fatalf("partitions of %s: %v", topic, err)
		}
		for _, p := range parts {
			lc, err := kafka.DialLeader(ctx, "tcp", chaosBrokers[0], topic, p.ID)
			if err != nil {
				t.Fatalf("leader of %s/%d: %v", topic, p.ID, err)
			}
			first, last, err := lc.ReadOffsets()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lc.Seek(first, kafka.SeekAbsolute); err != nil {
				t.Fatal(err)
			}
			for off := first; off < last; {
				_ = lc.SetReadDeadline(time.Now().Add(10 * time.Second))
				m, err := lc.ReadMessage(10 << 20)
				if err != nil {
					t.Fatalf("read %s/%d at %d of %d: %v", topic, p.ID, off, last, err)
				}
				off = m.Offset + 1
				messages++
				for _, h := range m.Headers {
					if h.Key == bus.HeaderMessageUUID {
						seen[string(h.Value)] = true
					}
				}
			}
			lc.Close()
		}
	}
	for id := range stored {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	return missing, messages, len(seen)
}

type comparison struct {
	Name           string
	From, To       int
	Rows, RowsNext int64
	Diff           int64
	Sample         string // a difference, when there is one
}

// versions returns the retired version N and the live version N+1 of a projection, with
// their schemas and indices.
func (cr *chaosRun) versions(ctx context.Context, conn *pgx.Conn, projection string) (from, to int, fromSchema, toSchema, fromIndex, toIndex string) {
	rows, err := conn.Query(ctx, `SELECT version, pg_schema, coalesce(es_index, '') FROM projection_versions
		WHERE projection = $1 AND state IN ('live', 'retired') ORDER BY version DESC LIMIT 2`, projection)
	if err != nil {
		cr.t.Fatal(err)
	}
	var vs []int
	var schemas, indices []string
	var v int
	var s, i string
	if _, err := pgx.ForEachRow(rows, []any{&v, &s, &i}, func() error {
		vs, schemas, indices = append(vs, v), append(schemas, s), append(indices, i)
		return nil
	}); err != nil {
		cr.t.Fatal(err)
	}
	if len(vs) != 2 {
		cr.t.Fatalf("%s: want a live and a retired version, got %v", projection, vs)
	}
	return vs[1], vs[0], schemas[1], schemas[0], indices[1], indices[0]
}

// compareTables compares every table of the read models' version N with its rebuild N+1,
// row for row (EXCEPT ALL both ways). applied_streams is compared on stream and version:
// when it applied them and at which global position differ by nature.
func (cr *chaosRun) compareTables(ctx context.Context, conn *pgx.Conn) []comparison {
	var out []comparison
	for _, projection := range []string{"ReadTablesProjector", "JobSearchProjector"} {
		from, to, a, b, _, _ := cr.versions(ctx, conn, projection)
		rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, a)
		if err != nil {
			cr.t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			cr.t.Fatal(err)
		}
		for _, table := range tables {
			cols := "*"
			if table == "applied_streams" {
				cols = "stream_id, version"
			}
			c := comparison{Name: a + "." + table + " vs " + b + "." + table, From: from, To: to}
			q := fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s.%[3]s), (SELECT count(*) FROM %[2]s.%[3]s),
				(SELECT count(*) FROM ((SELECT %[4]s FROM %[1]s.%[3]s EXCEPT ALL SELECT %[4]s FROM %[2]s.%[3]s)
				UNION ALL (SELECT %[4]s FROM %[2]s.%[3]s EXCEPT ALL SELECT %[4]s FROM %[1]s.%[3]s)) d)`, a, b, table, cols)
			if err := conn.QueryRow(ctx, q).Scan(&c.Rows, &c.RowsNext, &c.Diff); err != nil {
				cr.t.Fatalf("compare %s: %v", c.Name, err)
			}
			out = append(out, c)
		}
	}
	return out
}

// compareDocs compares the search documents of index N with those of its rebuild N+1.
func (cr *chaosRun) compareDocs(ctx context.Context, conn *pgx.Conn) []comparison {
	from, to, _, _, a, b := cr.versions(ctx, conn, "JobSearchProjector")
	docs := func(index string) map[string]string {
		base := strings.Split(chaosES, ",")[0]
		if res, err := http.Post(base+"/"+index+"/_refresh", "application/json", nil); err == nil {
			res.Body.Close()
		}
		res, err := http.Post(base+"/"+index+"/_search", "application/json",
			strings.NewReader(`{"size": 10000, "query": {"match_all": {}}}`))
		if err != nil {
			cr.t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Hits struct {
				Hits []struct {
					ID     string          `json:"_id"`
					Source json.RawMessage `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			cr.t.Fatal(err)
		}
		out := map[string]string{}
		for _, h := range body.Hits.Hits {
			var v any
			_ = json.Unmarshal(h.Source, &v)
			canon, _ := json.Marshal(v) // map keys sorted: the same document, the same bytes
			out[h.ID] = string(canon)
		}
		return out
	}
	da, db := docs(a), docs(b)
	c := comparison{Name: a + " vs " + b + " (documents)", From: from, To: to, Rows: int64(len(da)), RowsNext: int64(len(db))}
	for id, d := range da {
		if db[id] != d {
			c.Diff++
			if c.Sample == "" {
				c.Sample = fmt.Sprintf("document %s: v%d %s; v%d %s", id, from, d, to, db[id])
			}
		}
	}
	for id := range db {
		if _, ok := da[id]; !ok {
			c.Diff++
		}
	}
	return []comparison{c}
}

// ---------------------------------------------------------------------------------------------
// The report

type chaosReport struct {
	Seed                         uint64
	Duration, Settled            time.Duration
	Workers                      int
	Scenarios                    int64
	Events, StoredEvents         int64
	Requests, NoAnswer           int
	Acks                         int
	LostAcks                     []string
	Faults                       []fault
	Crashes                      []string
	Inside5xx                    map[string]int
	Outside5xx, GaveUp           []string
	KafkaMissing                 []string
	KafkaMessages, KafkaDistinct int
	Rebuilds                     []string
	Tables, Docs                 []comparison
	LoadAvg                      []string // /proc/loadavg at the start and the end of the load
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func (r *chaosReport) write(t *testing.T, path string) {
	var b strings.Builder
	pass := func(ok bool) string {
		if ok {
			return "pass"
		}
		return "**FAIL**"
	}
	fmt.Fprintf(&b, "# Chaos run\n\n")
	fmt.Fprintf(&b, "Written by `make chaos` (internal/app/chaos_test.go, build tag `chaos`) on %s; see\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "README \"Beyond one machine\" for what it does. Seed %d (`CHAOS_SEED` repeats the fault order).\n\n", r.Seed)
	fmt.Fprintf(&b, "Eight `jobboard serve` processes (api, relay, projectors, scheduler: two of each, `--roles`\n")
	fmt.Fprintf(&b, "one role each) against stack/cluster.sh: three Kafka brokers (topics with replication 3,\n")
	fmt.Fprintf(&b, "min.insync.replicas 2, 4 partitions), two Elasticsearch data nodes and a tiebreaker (one\n")
	fmt.Fprintf(&b, "replica), a PostgreSQL primary and the streaming replica the read-table queries use.\n")
	fmt.Fprintf(&b, "The machine has %d cores, shared with the engines and other work: load average %s at\n", runtime.NumCPU(), r.LoadAvg[0])
	fmt.Fprintf(&b, "the start, %s at the end. So the run widens two time budgets meant for production\n", r.LoadAvg[1])
	fmt.Fprintf(&b, "(`SEARCH_TIMEOUT=10s`, `CONSISTENCY_TIMEOUT=30s`): they would measure that load, not the\n")
	fmt.Fprintf(&b, "faults. Events per second here are the load's, not a capacity (docs/BENCHMARKS.md).\n\n")
	fmt.Fprintf(&b, "## Load\n\n")
	fmt.Fprintf(&b, "| Figure | Value |\n|---|---|\n")
	fmt.Fprintf(&b, "| load duration | %s |\n", r.Duration.Round(time.Second))
	fmt.Fprintf(&b, "| concurrent clients | %d |\n", r.Workers)
	fmt.Fprintf(&b, "| scenarios (sign-ups, job, payment + webhook, read, search, application, status changes) | %d |\n", r.Scenarios)
	fmt.Fprintf(&b, "| HTTP requests (including retries) | %d |\n", r.Requests)
	fmt.Fprintf(&b, "| commands acknowledged with 2xx | %d |\n", r.Acks)
	fmt.Fprintf(&b, "| events appended during the load | %d (%.1f events/s) |\n", r.Events, float64(r.Events)/r.Duration.Seconds())
	fmt.Fprintf(&b, "| projections caught up after the load in | %s |\n\n", r.Settled.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "## Faults injected (kill -9, then restart)\n\n| Fault | Target | Killed (UTC) | Back (UTC) | Down |\n|---|---|---|---|---|\n")
	for _, f := range r.Faults {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", f.Kind, f.Target, f.Killed.UTC().Format("15:04:05.0"), f.Back.UTC().Format("15:04:05.0"), f.Back.Sub(f.Killed).Round(100*time.Millisecond))
	}
	fmt.Fprintf(&b, "\nA fault's window runs from the kill to %s after the node or process is back.\n", chaosFaultGrace)
	if len(r.Crashes) > 0 {
		fmt.Fprintf(&b, "\nProcesses that exited by themselves (restarted by the harness, as an orchestrator would):\n\n")
		for _, c := range r.Crashes {
			fmt.Fprintf(&b, "- %s\n", c)
		}
	}
	fmt.Fprintf(&b, "\n## Checks\n\n| Check | Compared | Result |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| every acknowledged command is in the event store | %d acknowledgements, %d missing | %s |\n", r.Acks, len(r.LostAcks), pass(len(r.LostAcks) == 0))
	fmt.Fprintf(&b, "| every stored event reached Kafka | %d stored events; %d messages read, %d distinct events; %d missing | %s |\n",
		r.StoredEvents, r.KafkaMessages, r.KafkaDistinct, len(r.KafkaMissing), pass(len(r.KafkaMissing) == 0))
	for _, c := range append(slices.Clone(r.Tables), r.Docs...) {
		fmt.Fprintf(&b, "| v%d equals its rebuild v%d: %s | %d rows, %d rows; %d differ | %s |\n", c.From, c.To, c.Name, c.Rows, c.RowsNext, c.Diff, pass(c.Diff == 0))
	}
	fmt.Fprintf(&b, "| no 5xx and no unanswered request outside the fault windows | %d | %s |\n", len(r.Outside5xx), pass(len(r.Outside5xx) == 0))
	bad := 0
	keys := make([]string, 0, len(r.Inside5xx))
	for k, n := range r.Inside5xx {
		keys = append(keys, k)
		if !strings.HasPrefix(k, "503 ") && !strings.HasPrefix(k, "504 GET") {
			bad += n
		}
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "| inside the windows every 5xx is retriable (503, or 504 of a consistency wait) | %d not | %s |\n", bad, pass(bad == 0))
	fmt.Fprintf(&b, "| no request given up (60 attempts) | %d | %s |\n", len(r.GaveUp), pass(len(r.GaveUp) == 0))
	for _, c := range append(slices.Clone(r.Tables), r.Docs...) {
		if c.Sample != "" {
			fmt.Fprintf(&b, "\nA difference: %s\n", c.Sample)
		}
	}
	fmt.Fprintf(&b, "\nRequests without an answer (an api instance killed; the client's round-robin sent them again\nto the other): %d.\n", r.NoAnswer)
	if len(keys) > 0 {
		fmt.Fprintf(&b, "\n5xx answers inside the fault windows (each retried by the client):\n\n| Status and route | Count |\n|---|---|\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %d |\n", k, r.Inside5xx[k])
		}
	}
	if len(r.Outside5xx) > 0 {
		fmt.Fprintf(&b, "\nOutside the windows:\n\n")
		for _, s := range head(r.Outside5xx) {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	fmt.Fprintf(&b, "\nRebuilds compared with:\n\n")
	for _, s := range r.Rebuilds {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("report written to %s:\n%s", path, b.String())
}
