package readmodels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/internal/apperr"
)

// AlertsProjection builds the job alerts' read tables: every alert and the e-mail
// preferences of accounts. A permanent name, like the others.
const AlertsProjection = "AlertsProjector"

// DefaultAlertsSchema is version 1 of the alerts projection
// (migrations/00061_job_alerts.sql).
const DefaultAlertsSchema = "alerts_v1"

// AlertsTablesDDL returns the statements that create one version of the alerts projection's
// tables in schema (version 1: migrations/00061_job_alerts.sql, with the same shape).
func AlertsTablesDDL(schema string) ([]string, error) {
	if !ValidSchemaName(schema) {
		return nil, fmt.Errorf("readmodels: invalid schema name %q", schema)
	}
	return []string{
		`CREATE SCHEMA ` + schema,
		appliedStreamsDDL(schema),
		`CREATE TABLE ` + schema + `.alerts (
    id           text PRIMARY KEY,
    candidate_id text        NOT NULL,
    criteria     jsonb       NOT NULL,
    frequency    text        NOT NULL,
    active       boolean     NOT NULL,
    created_at   timestamptz NOT NULL,
    deleted_at   timestamptz,
    version      bigint      NOT NULL
)`,
		`CREATE INDEX alerts_candidate ON ` + schema + `.alerts (candidate_id, created_at DESC, id) WHERE active`,
		`CREATE INDEX alerts_frequency ON ` + schema + `.alerts (frequency, id) WHERE active`,
		`CREATE TABLE ` + schema + `.email_preferences (
    subject_id text PRIMARY KEY,
    role       text        NOT NULL,
    off        text[]      NOT NULL,
    updated_at timestamptz NOT NULL
)`,
	}, nil
}

// AlertCriteria are the parameters of GET /v1/jobs an alert saved, by their query-string
// names (the answer of GET /v1/candidates/me/alerts).
type AlertCriteria struct {
	Q              string   `json:"q,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	Remote         *bool    `json:"remote,omitempty"`
	Region         string   `json:"region,omitempty"`
	Country        string   `json:"country,omitempty"`
	EmploymentType string   `json:"employment_type,omitempty"`
	Seniority      string   `json:"seniority,omitempty"`
	SalaryMin      int64    `json:"salary_min,omitempty"`
	Currency       string   `json:"currency,omitempty"`
	CompanyID      string   `json:"company_id,omitempty"`
	Sort           string   `json:"sort,omitempty"`
}

// SearchParams are the search an alert stands for.
func (c AlertCriteria) SearchParams() SearchParams {
	return SearchParams{Q: c.Q, Tags: c.Tags, Remote: c.Remote, Region: c.Region, Country: c.Country,
		EmploymentType: c.EmploymentType, Seniority: c.Seniority, SalaryMin: c.SalaryMin, Currency: c.Currency,
		CompanyID: c.CompanyID, Sort: c.Sort}
}

// Alert is one alert of the read table.
type Alert struct {
	ID          string        `json:"id"`
	CandidateID string        `json:"candidate_id"`
	Criteria    AlertCriteria `json:"criteria"`
	Frequency   string        `json:"frequency"`
	Active      bool          `json:"active"`
	CreatedAt   time.Time     `json:"created_at"`
	DeletedAt   *time.Time    `json:"deleted_at,omitempty"`
	Version     int64         `json:"version"`
}

// EmailPreferences are the optional e-mail categories an account turned off.
type EmailPreferences struct {
	SubjectID string   `json:"-"`
	Off       []string `json:"off"`
}

// alertsSchema is the live schema of the alerts projection.
func (s *Store) alertsSchema(ctx context.Context) (string, error) {
	t, err := s.targets.get(ctx, AlertsProjection)
	if err != nil {
		return "", err
	}
	return t.Schema, nil
}

const alertColumns = `id, candidate_id, criteria, frequency, active, created_at, deleted_at, version`

func scanAlert(row pgx.Row) (Alert, error) {
	var (
		a        Alert
		criteria []byte
	)
	if err := row.Scan(&a.ID, &a.CandidateID, &criteria, &a.Frequency, &a.Active, &a.CreatedAt, &a.DeletedAt, &a.Version); err != nil {
		return Alert{}, err
	}
	if err := json.Unmarshal(criteria, &a.Criteria); err != nil {
		return Alert{}, fmt.Errorf("decode criteria of alert %s: %w", a.ID, err)
	}
	return a, nil
}

// GetAlert returns an alert, live or ended; apperr NotFound if the projection has none.
func (s *Store) GetAlert(ctx context.Context, id string) (Alert, error) {
	schema, err := s.alertsSchema(ctx)
	if err != nil {
		return Alert{}, err
	}
	a, err := scanAlert(s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT %s FROM %s.alerts WHERE id = $1`, alertColumns, schema), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Alert{}, apperr.New(apperr.NotFound, "alert %s not found", id)
	}
	if err != nil {
		return Alert{}, fmt.Errorf("get alert %s: %w", id, err)
	}
	return a, nil
}

// CandidateAlerts lists a candidate's live alerts, newest first (at most
// domain.MaxAlertsPerCandidate and a few, so one page).
func (s *Store) CandidateAlerts(ctx context.Context, candidateID string) ([]Alert, error) {
	schema, err := s.alertsSchema(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s.alerts WHERE candidate_id = $1 AND active
		ORDER BY created_at DESC, id LIMIT 200`, alertColumns, schema), candidateID)
	if err != nil {
		return nil, fmt.Errorf("list alerts of %s: %w", candidateID, err)
	}
	out := []Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// LiveAlerts counts a candidate's live alerts (commands.AlertCounter).
func (s *Store) LiveAlerts(ctx context.Context, candidateID string) (int, error) {
	schema, err := s.alertsSchema(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s.alerts WHERE candidate_id = $1 AND active`, schema), candidateID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count alerts of %s: %w", candidateID, err)
	}
	return n, nil
}

// GetEmailPreferences returns the categories an account turned off (none when it never
// chose).
func (s *Store) GetEmailPreferences(ctx context.Context, subjectID string) (EmailPreferences, error) {
	schema, err := s.alertsSchema(ctx)
	if err != nil {
		return EmailPreferences{}, err
	}
	p := EmailPreferences{SubjectID: subjectID}
	err = s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT off FROM %s.email_preferences WHERE subject_id = $1`, schema), subjectID).Scan(&p.Off)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return EmailPreferences{}, fmt.Errorf("email preferences of %s: %w", subjectID, err)
	}
	if p.Off == nil {
		p.Off = []string{}
	}
	return p, nil
}

// JobScope narrows the jobs alerts are matched against: the jobs just published (IDs), or
// those published in [PublishedFrom, PublishedUntil) (a digest's period).
type JobScope struct {
	IDs            []string
	PublishedFrom  time.Time
	PublishedUntil time.Time
}

// MaxAlertJobs is the number of jobs an alert match returns (the newest); Total counts
// them all.
const MaxAlertJobs = 20

// AlertJobs are the jobs of a scope one alert's search lists.
type AlertJobs struct {
	// Jobs are the first MaxAlertJobs matching jobs in the order of GET /v1/jobs?sort=newest.
	Jobs []SearchItem
	// Total counts every matching job of the scope.
	Total int64
}

// matchBatch is the number of searches sent in one _msearch request.
const matchBatch = 250

// AlertQuery is the Elasticsearch query of an alert's saved search over the jobs of a
// scope: the filters and full-text terms of GET /v1/jobs built by the same function
// (criteriaQuery), with the same listing filter (published, not expired at now), and the
// scope. Only ranking differs, which decides no match.
func AlertQuery(p SearchParams, scope JobScope, now time.Time) map[string]any {
	filter := listedFilter(now)
	criteria, must := criteriaQuery(p)
	filter = append(filter, criteria...)
	if len(scope.IDs) > 0 {
		filter = append(filter, obj{"terms": obj{"id": scope.IDs}})
	}
	if !scope.PublishedFrom.IsZero() || !scope.PublishedUntil.IsZero() {
		r := obj{}
		if !scope.PublishedFrom.IsZero() {
			r["gte"] = scope.PublishedFrom.UTC().Format(time.RFC3339Nano)
		}
		if !scope.PublishedUntil.IsZero() {
			r["lt"] = scope.PublishedUntil.UTC().Format(time.RFC3339Nano)
		}
		filter = append(filter, obj{"range": obj{"published_at": r}})
	}
	b := obj{"filter": filter}
	if len(must) > 0 {
		b["must"] = must
	}
	return obj{"bool": b}
}

// criteriaKey identifies equal searches, so that alerts saving the same search are
// matched by one query.
func criteriaKey(c AlertCriteria) string {
	c.Sort = ""
	b, _ := json.Marshal(c)
	return string(b)
}

// MatchAlerts runs the saved search of every alert over the jobs of scope and returns, by
// alert id, the jobs each lists (alerts listing none are left out). Alerts saving the same
// criteria share one query; the queries go to the search alias in _msearch batches.
func (s *Store) MatchAlerts(ctx context.Context, alerts []Alert, scope JobScope) (map[string]AlertJobs, error) {
	groups := map[string][]string{}
	var keys []string
	criteria := map[string]AlertCriteria{}
	for _, a := range alerts {
		k := criteriaKey(a.Criteria)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
			criteria[k] = a.Criteria
		}
		groups[k] = append(groups[k], a.ID)
	}
	now := s.cfg.Now()
	out := map[string]AlertJobs{}
	for start := 0; start < len(keys); start += matchBatch {
		batch := keys[start:min(start+matchBatch, len(keys))]
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		for _, k := range batch {
			p := criteria[k].SearchParams()
			_ = enc.Encode(obj{})
			if err := enc.Encode(obj{
				"query": AlertQuery(p, scope, now),
				// The order of GET /v1/jobs?sort=newest: featured jobs first, then the newest.
				"sort":             searchSort(SortNewest),
				"size":             MaxAlertJobs,
				"track_total_hits": true,
				"_source":          []string{"id", "title", "company", "location", "salary", "tags", "employment_type", "seniority", "featured", "published_at", "expires_at"},
			}); err != nil {
				return nil, fmt.Errorf("encode alert search: %w", err)
			}
		}
		res, err := s.es.Msearch(bytes.NewReader(body.Bytes()), s.es.Msearch.WithContext(ctx), s.es.Msearch.WithIndex(s.cfg.SearchAlias))
		if err != nil {
			return nil, fmt.Errorf("match alerts: %w", err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("match alerts: %w", err)
		}
		if res.IsError() {
			return nil, fmt.Errorf("match alerts: %s: %s", res.Status(), raw)
		}
		var mr struct {
			Responses []struct {
				searchResponse
				Error json.RawMessage `json:"error"`
			} `json:"responses"`
		}
		if err := json.Unmarshal(raw, &mr); err != nil {
			return nil, fmt.Errorf("decode alert matches: %w", err)
		}
		if len(mr.Responses) != len(batch) {
			return nil, fmt.Errorf("match alerts: %d answers to %d searches", len(mr.Responses), len(batch))
		}
		for i, r := range mr.Responses {
			if len(r.Error) > 0 {
				return nil, fmt.Errorf("match alerts: %s", r.Error)
			}
			if err := r.incomplete(); err != nil {
				return nil, err
			}
			if r.Hits.Total.Value == 0 {
				continue
			}
			m := AlertJobs{Total: r.Hits.Total.Value, Jobs: make([]SearchItem, 0, len(r.Hits.Hits))}
			for _, h := range r.Hits.Hits {
				m.Jobs = append(m.Jobs, h.Source)
			}
			for _, id := range groups[batch[i]] {
				out[id] = m
			}
		}
	}
	return out, nil
}

// ActiveAlerts lists the live alerts of a frequency created before createdBefore, except
// those of candidates who turned job alert e-mails off: what the matcher mails.
func (s *Store) ActiveAlerts(ctx context.Context, frequency string, createdBefore time.Time) ([]Alert, error) {
	schema, err := s.alertsSchema(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %[2]s FROM %[1]s.alerts a
		WHERE a.active AND a.frequency = $1 AND a.created_at < $2 AND NOT EXISTS (
			SELECT 1 FROM %[1]s.email_preferences p WHERE p.subject_id = a.candidate_id AND 'job_alerts' = ANY(p.off))
		ORDER BY a.id`, schema, alertColumns), frequency, createdBefore)
	if err != nil {
		return nil, fmt.Errorf("active %s alerts: %w", frequency, err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
