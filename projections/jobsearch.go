package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/readmodels"
)

// JobSearchConfig configures a JobSearchProjector.
type JobSearchConfig struct {
	// Schema is the PostgreSQL schema of the projector's side tables (job details, company
	// names, applied versions). Default readmodels.DefaultSearchSchema ("search_v1").
	Schema string
	// Index is the Elasticsearch index written: the version's own index, not the alias, so
	// version N+1 can be built beside the live N. Default readmodels.DefaultSearchIndex.
	Index string
	// Refresh is the bulk request's refresh parameter. "wait_for" (default) returns once
	// the index's next scheduled refresh (readmodels.SearchRefreshInterval) made the write
	// searchable, so the projector records it as applied (which read-your-writes relies
	// on) only then, without forcing a refresh per write; "true" forces one; rebuilds use
	// "false".
	Refresh string
	// FollowLive makes every write resolve the live version (schema and index) from
	// projection_versions, ignoring Schema and Index; see ReadTablesConfig.FollowLive.
	FollowLive bool
	// BulkWorkers is the number of concurrent bulk requests of one write. Default 1;
	// rebuilds with large batches use more.
	BulkWorkers int
}

// JobSearchProjector keeps the Elasticsearch job search index: a job gets a document when it
// is published, built from its details and its company's name (kept in side tables in
// PostgreSQL, so a company registered after its job's events still ends in the document);
// details changed while published update it; closing or expiry set its status, which
// searches filter on. Documents carry the job stream's version as external version
// (external_gte), so a stale or repeated write never overwrites a newer document. The
// applied version of a stream is committed only after the bulk write succeeded.
type JobSearchProjector struct {
	pool *pgxpool.Pool
	es   *elasticsearch.Client
	cfg  JobSearchConfig
}

var _ Projector = (*JobSearchProjector)(nil)

// NewJobSearchProjector returns the projector writing cfg.Index and cfg.Schema.
func NewJobSearchProjector(pool *pgxpool.Pool, es *elasticsearch.Client, cfg JobSearchConfig) (*JobSearchProjector, error) {
	if pool == nil || es == nil {
		return nil, errors.New("projections: job search projector: pool and elasticsearch client are required")
	}
	if cfg.Schema == "" {
		cfg.Schema = readmodels.DefaultSearchSchema
	}
	if cfg.Index == "" {
		cfg.Index = readmodels.DefaultSearchIndex
	}
	if cfg.Refresh == "" {
		cfg.Refresh = "wait_for"
	}
	if cfg.BulkWorkers == 0 {
		cfg.BulkWorkers = 1
	}
	var errs []error
	if !readmodels.ValidSchemaName(cfg.Schema) {
		errs = append(errs, fmt.Errorf("invalid schema %q", cfg.Schema))
	}
	switch cfg.Refresh {
	case "true", "false", "wait_for":
	default:
		errs = append(errs, fmt.Errorf("refresh must be true, false or wait_for, got %q", cfg.Refresh))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("projections: job search projector: %w", err)
	}
	return &JobSearchProjector{pool: pool, es: es, cfg: cfg}, nil
}

// Name is readmodels.JobSearchProjection.
func (p *JobSearchProjector) Name() string { return readmodels.JobSearchProjection }

// StreamTypes are every stream type: company and job events build documents; the others
// only advance the applied versions, so a consistency token of any stream can be awaited
// on search.
func (p *JobSearchProjector) StreamTypes() []string {
	return []string{domain.StreamTypeCompany, domain.StreamTypeJob, domain.StreamTypeCandidate, domain.StreamTypeApplication}
}

// Apply updates the side tables for events in one transaction (pipelined, as the read
// tables projector does), writes the documents of every job they touched with one bulk
// request, then commits.
func (p *JobSearchProjector) Apply(ctx context.Context, events []Event) error {
	return p.applyRefreshing(ctx, events, p.cfg.Refresh)
}

// ApplyBacklog is Apply for a catch-up's batch (thousands of events read from the store):
// its bulk request refreshes the index at once ("true") where Apply's waits for the next
// scheduled refresh ("wait_for"). A batch of a backlog takes longer to index than the
// refresh interval, so the schedule refreshes during it anyway: the refresh it asks for
// replaces a wait of up to one interval per batch (docs/BENCHMARKS.md, "Backlog drain").
// A projector that does not wait for refreshes (a rebuild's, "false") applies as Apply.
func (p *JobSearchProjector) ApplyBacklog(ctx context.Context, events []Event) error {
	refresh := p.cfg.Refresh
	if refresh == "wait_for" {
		refresh = "true"
	}
	return p.applyRefreshing(ctx, events, refresh)
}

func (p *JobSearchProjector) applyRefreshing(ctx context.Context, events []Event, refresh string) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", p.Name(), classifyPG(err))
	}
	defer tx.Rollback(ctx)
	t, err := resolveTarget(ctx, tx, p.Name(), p.cfg.FollowLive, target{schema: p.cfg.Schema, index: p.cfg.Index})
	if err != nil {
		return fmt.Errorf("%s: %w", p.Name(), err)
	}
	if t.index == "" {
		return fmt.Errorf("%s: live version has no index", p.Name())
	}

	var touched []string
	seen := map[string]bool{}
	touch := func(ids ...string) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				touched = append(touched, id)
			}
		}
	}
	var registered []string // companies whose name this batch set
	if err := applyFresh(ctx, tx, t.schema, events, func(b *pgx.Batch, ev Event) error {
		if e, ok := ev.Payload.(*domain.CompanyRegistered); ok {
			registered = append(registered, e.CompanyID)
		}
		return p.apply(b, t.schema, ev, touch)
	}); err != nil {
		return fmt.Errorf("%s: %w", p.Name(), err)
	}
	if len(touched) > 0 || len(registered) > 0 {
		ids, err := p.lockCompanies(ctx, tx, t.schema, touched, registered)
		if err != nil {
			return fmt.Errorf("%s: lock companies: %w", p.Name(), classifyPG(err))
		}
		touch(ids...)
	}
	if len(touched) > 0 {
		docs, err := p.documents(ctx, tx, t.schema, touched)
		if err != nil {
			return fmt.Errorf("%s: build documents: %w", p.Name(), classifyPG(err))
		}
		if err := p.write(ctx, t.index, docs, refresh); err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: commit: %w", p.Name(), classifyPG(err))
	}
	return nil
}

// apply queues the side-table statements of one event; touch receives the jobs whose
// document must be written, when the statements' results are read.
func (p *JobSearchProjector) apply(b *pgx.Batch, s string, ev Event, touch func(ids ...string)) error {
	v := ev.StreamVersion
	// updateJob queues an UPDATE … RETURNING indexed and touches the job if it has a
	// document.
	updateJob := func(id, sql string, args ...any) error {
		b.Queue(fmt.Sprintf(sql, s), append([]any{id}, args...)...).QueryRow(func(row pgx.Row) error {
			var indexed bool
			err := row.Scan(&indexed)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // job.posted never reached this projection (dead-lettered)
			}
			if err == nil && indexed {
				touch(id)
			}
			return err
		})
		return nil
	}
	switch e := ev.Payload.(type) {
	case *domain.CompanyRegistered:
		// Its indexed jobs get the name once the company is locked (lockCompanies).
		b.Queue(fmt.Sprintf(`INSERT INTO %s.companies (id, name) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET name = $2`, s), e.CompanyID, e.Name)
		return nil
	case *domain.JobPosted:
		details, err := json.Marshal(e.Details)
		if err != nil {
			return Permanent(fmt.Errorf("encode details: %w", err))
		}
		b.Queue(fmt.Sprintf(`INSERT INTO %s.jobs (id, company_id, details, status, posted_at, version)
			VALUES ($1, $2, $3, 'awaiting_payment', $4, $5)
			ON CONFLICT (id) DO UPDATE SET company_id = $2, details = $3, posted_at = $4, version = $5`, s),
			e.JobID, e.CompanyID, details, e.PostedAt, v)
		return nil
	case *domain.JobDetailsChanged:
		details, err := json.Marshal(e.Details)
		if err != nil {
			return Permanent(fmt.Errorf("encode details: %w", err))
		}
		return updateJob(e.JobID, `UPDATE %s.jobs SET details = $2, version = $3 WHERE id = $1 RETURNING indexed`, details, v)
	case *domain.JobPublished:
		return updateJob(e.JobID, `UPDATE %s.jobs SET status = 'published', featured = $2, published_at = $3,
			expires_at = $4, indexed = true, version = $5 WHERE id = $1 RETURNING indexed`,
			e.Featured, e.PublishedAt, e.ExpiresAt, v)
	case *domain.JobClosed:
		return updateJob(e.JobID, `UPDATE %s.jobs SET status = 'closed', version = $2 WHERE id = $1 RETURNING indexed`, v)
	case *domain.JobExpired:
		return updateJob(e.JobID, `UPDATE %s.jobs SET status = 'expired', version = $2 WHERE id = $1 RETURNING indexed`, v)
	case *domain.ListingPaymentRequested:
		p.bumpVersion(b, s, e.JobID, v)
	case *domain.ListingPaid:
		p.bumpVersion(b, s, e.JobID, v)
	case *domain.ListingPaymentFailed:
		p.bumpVersion(b, s, e.JobID, v)
	case *domain.ListingPaymentCanceled:
		p.bumpVersion(b, s, e.JobID, v)
	case *domain.ListingPaymentRefunded:
		p.bumpVersion(b, s, e.JobID, v)
	}
	return nil
}

// lockCompanies takes, for the rest of the transaction, a lock per company of the touched
// jobs and of the registered companies (in one order, so two batches cannot deadlock on
// them), then returns the indexed jobs of the registered companies, whose documents must
// get the name. A company's registration and its job's events may be applied at once (other
// topics, partitions, processes): under the lock, whichever comes second reads what the
// first committed — the job's document building the name, or the registration the job,
// indexed — and its document, written last with the same or a newer version, has both.
// (Without it, a chaos run found documents with an empty company name: a job published
// while its company's registration was applied read no name, and the registration did not
// see the job indexed yet.) The lock is per schema, so a rebuild does not wait for the live
// version.
func (p *JobSearchProjector) lockCompanies(ctx context.Context, tx pgx.Tx, schema string, jobs, registered []string) ([]string, error) {
	_, err := tx.Exec(ctx, fmt.Sprintf(`SELECT pg_advisory_xact_lock(hashtextextended($3 || c, 0))
		FROM (SELECT c FROM (SELECT company_id AS c FROM %s.jobs WHERE id = ANY($1)
		      UNION SELECT unnest($2::text[])) u ORDER BY c) o`, schema), jobs, registered, p.Name()+":"+schema+":")
	if err != nil || len(registered) == 0 {
		return nil, err
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT id FROM %s.jobs WHERE company_id = ANY($1) AND indexed`, schema), registered)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// bumpVersion records the version of an event that is not in the document, so the next
// document written carries it.
func (p *JobSearchProjector) bumpVersion(b *pgx.Batch, s, jobID string, v int64) {
	b.Queue(fmt.Sprintf(`UPDATE %s.jobs SET version = $2 WHERE id = $1`, s), jobID, v)
}

type versionedDoc struct {
	doc     readmodels.JobDocument
	version int64
}

// documents builds the documents of jobs from the side tables.
func (p *JobSearchProjector) documents(ctx context.Context, tx pgx.Tx, schema string, ids []string) ([]versionedDoc, error) {
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT j.id, j.company_id, coalesce(c.name, ''), j.details, j.status,
			j.featured, j.posted_at, j.published_at, j.expires_at, j.version
		FROM %[1]s.jobs j LEFT JOIN %[1]s.companies c ON c.id = j.company_id
		WHERE j.id = ANY($1) ORDER BY j.id`, schema), ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []versionedDoc
	for rows.Next() {
		var (
			d       readmodels.JobDocument
			details []byte
			version int64
			pub     *time.Time
			exp     *time.Time
		)
		if err := rows.Scan(&d.ID, &d.Company.ID, &d.Company.Name, &details, &d.Status, &d.Featured,
			&d.PostedAt, &pub, &exp, &version); err != nil {
			return nil, err
		}
		var in domain.JobDetailsInput
		if err := json.Unmarshal(details, &in); err != nil {
			return nil, Permanent(fmt.Errorf("decode details of job %s: %w", d.ID, err))
		}
		f := fieldsOf(in)
		d.Title, d.Description, d.EmploymentType, d.Seniority = f.Title, f.Description, f.EmploymentType, f.Seniority
		d.DescriptionLength = utf8.RuneCountInString(f.Description)
		d.Location, d.Salary, d.Tags, d.ApplyURL = f.Location, f.Salary, f.Tags, f.ApplyURL
		if d.Salary != nil {
			y := d.Salary.Yearly()
			d.SalaryYearly = &y
		}
		d.PublishedAt, d.ExpiresAt = pub, exp
		out = append(out, versionedDoc{doc: d, version: version})
	}
	return out, rows.Err()
}

// write indexes docs with one bulk request with the refresh parameter refresh. A version
// conflict means Elasticsearch holds a newer (or the same) version already: success.
func (p *JobSearchProjector) write(ctx context.Context, index string, docs []versionedDoc, refresh string) error {
	var (
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	bodies := make([][]byte, len(docs))
	size := 0
	for i, d := range docs {
		body, err := json.Marshal(d.doc)
		if err != nil {
			return Permanent(fmt.Errorf("encode document %s: %w", d.doc.ID, err))
		}
		bodies[i] = body
		size += len(body) + 512 // the body and, generously, its action line
	}
	// Each worker allocates a buffer of FlushBytes up front: sized to the batch (a live
	// batch is a few kB), capped at 10 MiB per request (rebuilds).
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:     p.es,
		Index:      index,
		NumWorkers: p.cfg.BulkWorkers,
		FlushBytes: min(10<<20, size+1),
		Refresh:    refresh,
	})
	if err != nil {
		return fmt.Errorf("bulk indexer: %w", err)
	}
	for i, d := range docs {
		body := bodies[i]
		version := d.version
		err = bi.Add(ctx, esutil.BulkIndexerItem{
			Action:      "index",
			DocumentID:  d.doc.ID,
			Version:     &version,
			VersionType: "external_gte",
			Body:        bytes.NewReader(body),
			OnFailure: func(_ context.Context, item esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				switch {
				case err != nil:
					fail(Transient(fmt.Errorf("index job %s: %w", item.DocumentID, err)))
				case res.Status == http.StatusConflict:
					// A newer version is indexed already.
				case res.Status == http.StatusTooManyRequests || res.Status >= 500:
					fail(Transient(fmt.Errorf("index job %s: %d %s: %s", item.DocumentID, res.Status, res.Error.Type, res.Error.Reason)))
				default:
					fail(fmt.Errorf("index job %s: %d %s: %s", item.DocumentID, res.Status, res.Error.Type, res.Error.Reason))
				}
			},
		})
		if err != nil {
			_ = bi.Close(context.Background())
			return Transient(fmt.Errorf("bulk add: %w", err))
		}
	}
	if err := bi.Close(ctx); err != nil {
		fail(Transient(fmt.Errorf("bulk flush: %w", err)))
	}
	return errors.Join(errs...)
}
