// Tests that prove each engine of the local stack is the real thing, reached through the very
// libraries the app uses: pgx, kafka-go, go-elasticsearch, stripe-go and go-mail.
package stack_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
	"github.com/stripe/stripe-go/v85"
	gomail "github.com/wneessen/go-mail"

	"github.com/jobboard/jobboard/internal/testenv"
)

func TestPostgresTransactionWithPgx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE probe (n int)`); err != nil {
		t.Fatal(err)
	}

	t.Run("a rolled back insert leaves nothing", func(t *testing.T) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO probe VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		assertCount(t, conn, 0)
	})
	t.Run("a committed insert is there", func(t *testing.T) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO probe VALUES (1), (2)`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		assertCount(t, conn, 2)
	})
	var version string
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL %s", version)
}

func assertCount(t *testing.T, conn *pgx.Conn, want int) {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM probe`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("rows = %d, want %d", n, want)
	}
}

func TestKafkaProduceConsumeRoundTripWithKafkaGo(t *testing.T) {
	t.Parallel()
	brokers := testenv.KafkaBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := "stack-probe-" + testenv.RandomSuffix()

	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := kafka.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := cc.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.DeleteTopics(topic) })

	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, Balancer: &kafka.Hash{}}
	defer w.Close()
	want := map[string]string{}
	var msgs []kafka.Message
	for i := range 30 {
		k, v := "key-"+strconv.Itoa(i%5), "value-"+strconv.Itoa(i)
		want[v] = k
		msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte(v)})
	}
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			break
		}
		// A topic just created may not have a leader yet.
		if !errors.Is(err, kafka.LeaderNotAvailable) && !errors.Is(err, kafka.UnknownTopicOrPartition) || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, GroupID: "probe-" + topic, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset})
	defer r.Close()
	got := map[string]string{}
	for len(got) < len(want) {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(got), len(want), err)
		}
		got[string(m.Value)] = string(m.Key)
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for v, k := range want {
		if got[v] != k {
			t.Errorf("message %s: key %q, want %q", v, got[v], k)
		}
	}
}

func TestElasticsearchIndexAndSearchWithGoElasticsearch(t *testing.T) {
	t.Parallel()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{testenv.ElasticsearchURL(t)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	index := "stack-probe-" + testenv.RandomSuffix()
	t.Cleanup(func() { _, _ = es.Indices.Delete([]string{index}) })

	res, err := es.Index(index, strings.NewReader(`{"title":"Senior Go engineer, remote"}`),
		es.Index.WithDocumentID("1"), es.Index.WithRefresh("true"), es.Index.WithContext(ctx))
	if err != nil {
		t.Fatalf("index (the client's product check runs on the first request): %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("index: %s", res.Status())
	}
	if got := res.Header.Get("X-Elastic-Product"); got != "Elasticsearch" {
		t.Fatalf("X-Elastic-Product = %q: not a genuine Elasticsearch", got)
	}

	res, err = es.Search(es.Search.WithIndex(index), es.Search.WithContext(ctx),
		es.Search.WithBody(strings.NewReader(`{"query":{"match":{"title":{"query":"enginer","fuzziness":"AUTO"}}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := new(bytes.Buffer)
	if _, err := body.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	if res.IsError() || !strings.Contains(body.String(), `"total":{"value":1`) {
		t.Fatalf("a fuzzy search for the indexed title found nothing: %s %s", res.Status(), body)
	}
}

func TestStripeMockCreatesPaymentIntentWithStripeGo(t *testing.T) {
	t.Parallel()
	base := testenv.StripeAPIBase(t)
	sc := stripe.NewClient("sk_test_123", stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(base)})))
	pi, err := sc.V1PaymentIntents.Create(context.Background(), &stripe.PaymentIntentCreateParams{
		Amount:   stripe.Int64(4900),
		Currency: stripe.String(string(stripe.CurrencyEUR)),
		Metadata: map[string]string{"job_id": "probe"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pi.ID, "pi_") || pi.ClientSecret == "" {
		t.Fatalf("payment intent id %q client secret %q: not what Stripe's API answers", pi.ID, pi.ClientSecret)
	}
}

func TestMailpitReceivesAMessageSentWithGoMail(t *testing.T) {
	t.Parallel()
	mp := testenv.StackMailpit(t)
	host, port, err := net.SplitHostPort(mp.SMTP)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	client, err := gomail.NewClient(host, gomail.WithPort(p), gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	if err != nil {
		t.Fatal(err)
	}
	to := "probe-" + testenv.RandomSuffix() + "@example.org"
	m := gomail.NewMsg()
	if err := m.From("probe@jobboard.test"); err != nil {
		t.Fatal(err)
	}
	if err := m.To(to); err != nil {
		t.Fatal(err)
	}
	m.Subject("stack probe")
	m.SetMessageIDWithValue("probe-" + to)
	m.SetBodyString(gomail.TypeTextPlain, "hello")
	if err := client.DialAndSendWithContext(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := mp.WaitForMessages(t, "to:"+strconv.Quote(to), 1, 10*time.Second)
	if len(got) != 1 || got[0].Subject != "stack probe" || got[0].MessageID != "probe-"+to {
		t.Fatalf("mailpit lists %+v, want the one message sent", got)
	}
}
