package seed

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jobboard/jobboard/history"
)

// Mix shapes the history. Shares are probabilities in [0, 1].
type Mix struct {
	// CandidateShare is the share of all events that are candidate registrations.
	CandidateShare float64
	// JobsPerCompany is the mean number of jobs a company posts (at least one each).
	JobsPerCompany float64
	// ApplicationsPerJob is the mean number of applications per publication of a standard
	// listing; featured listings draw twice as many.
	ApplicationsPerJob float64
	// FeaturedShare of listing payments buy the featured plan.
	FeaturedShare float64
	// UnpaidShare of jobs are never paid for (drafts, half of them closed later).
	UnpaidShare float64
	// PaymentFailureShare of listing payments fail first; half of those are retried and paid.
	PaymentFailureShare float64
	// PlanChangeShare of listing payments start with the other plan, which the company
	// replaces (the first payment is canceled); half of the replaced payments still succeed
	// and are refunded.
	PlanChangeShare float64
	// DetailsChangeShare of jobs are edited before payment (and half as many while published).
	DetailsChangeShare float64
	// CloseShare of publications are closed by the company before they expire.
	CloseShare float64
	// RenewalShare of ended publications are paid for again and published anew.
	RenewalShare float64
	// WithdrawalShare of applications are withdrawn by the candidate.
	WithdrawalShare float64
	// TokenRotationShare of accounts (companies and candidates) rotate their token once.
	TokenRotationShare float64
}

// DefaultMix is the mix of a board in its first months.
func DefaultMix() Mix {
	return Mix{
		CandidateShare:      0.04,
		JobsPerCompany:      3,
		ApplicationsPerJob:  6,
		FeaturedShare:       0.2,
		UnpaidShare:         0.08,
		PaymentFailureShare: 0.06,
		PlanChangeShare:     0.05,
		DetailsChangeShare:  0.2,
		CloseShare:          0.3,
		RenewalShare:        0.15,
		WithdrawalShare:     0.08,
		TokenRotationShare:  0.1,
	}
}

// Validate reports every problem with the mix.
func (m Mix) Validate() error {
	var errs []error
	share := func(name string, v float64) {
		if !(v >= 0 && v <= 1) {
			errs = append(errs, fmt.Errorf("mix: %s %g is outside [0, 1]", name, v))
		}
	}
	share("candidate share", m.CandidateShare)
	share("featured share", m.FeaturedShare)
	share("unpaid share", m.UnpaidShare)
	share("payment failure share", m.PaymentFailureShare)
	share("plan change share", m.PlanChangeShare)
	share("details change share", m.DetailsChangeShare)
	share("close share", m.CloseShare)
	share("renewal share", m.RenewalShare)
	share("withdrawal share", m.WithdrawalShare)
	share("token rotation share", m.TokenRotationShare)
	if !(m.JobsPerCompany >= 1 && m.JobsPerCompany <= 50) {
		errs = append(errs, fmt.Errorf("mix: jobs per company %g is outside [1, 50]", m.JobsPerCompany))
	}
	if !(m.ApplicationsPerJob >= 0 && m.ApplicationsPerJob <= 500) {
		errs = append(errs, fmt.Errorf("mix: applications per job %g is outside [0, 500]", m.ApplicationsPerJob))
	}
	return errors.Join(errs...)
}

// Config configures a Seeder.
type Config struct {
	// Events is the exact number of events to write. Required.
	Events int
	// Seed makes the history: the same seed (and End) gives the same history.
	Seed uint64
	// End is the "now" of the history: every event's own time is before it, jobs still
	// published at End stay published. Default the start of the current day in UTC, so a
	// seed gives the same history all day long; set it for a fully reproducible history.
	End time.Time
	// Span is how far before End the history starts. Default 180 days.
	Span time.Duration
	// Mix shapes the history. Default DefaultMix().
	Mix *Mix
	// StandardPrice and FeaturedPrice are the listing prices in minor units of
	// ListingCurrency. Defaults 4900 and 9900 (the app's defaults).
	StandardPrice, FeaturedPrice int64
	// ListingCurrency is the currency of listing prices. Default "EUR".
	ListingCurrency string
	// ListingDuration is how long a paid listing stays published. Default 30 days.
	ListingDuration time.Duration
	// BatchEvents is about how many events one transaction appends. Default 5000.
	BatchEvents int
	// Writers is how many transactions append at once. Default 4.
	Writers int
	// Progress, when set, is called after every committed transaction and once at the end
	// with Final set. Calls never overlap.
	Progress func(Progress)
	// Logger receives the seeder's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.End.IsZero() {
		c.End = time.Now().UTC().Truncate(24 * time.Hour)
	}
	if c.Span == 0 {
		c.Span = 180 * 24 * time.Hour
	}
	if c.Mix == nil {
		m := DefaultMix()
		c.Mix = &m
	}
	if c.StandardPrice == 0 {
		c.StandardPrice = 4900
	}
	if c.FeaturedPrice == 0 {
		c.FeaturedPrice = 9900
	}
	if c.ListingCurrency == "" {
		c.ListingCurrency = "EUR"
	}
	if c.ListingDuration == 0 {
		c.ListingDuration = 30 * 24 * time.Hour
	}
	if c.BatchEvents == 0 {
		c.BatchEvents = 5000
	}
	if c.Writers == 0 {
		c.Writers = 4
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Events < 1 {
		errs = append(errs, fmt.Errorf("events %d < 1", c.Events))
	}
	if c.Span < 24*time.Hour {
		errs = append(errs, fmt.Errorf("span %s is shorter than a day", c.Span))
	}
	if c.Mix != nil {
		if err := c.Mix.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.StandardPrice <= 0 || c.FeaturedPrice <= 0 {
		errs = append(errs, fmt.Errorf("listing prices %d and %d must be positive", c.StandardPrice, c.FeaturedPrice))
	}
	if c.ListingDuration < time.Hour {
		errs = append(errs, fmt.Errorf("listing duration %s is shorter than an hour", c.ListingDuration))
	}
	if c.BatchEvents < 1 {
		errs = append(errs, fmt.Errorf("batch events %d < 1", c.BatchEvents))
	}
	if c.Writers < 1 || c.Writers > 64 {
		errs = append(errs, fmt.Errorf("writers %d is outside 1..64", c.Writers))
	}
	return errors.Join(errs...)
}

// Progress is how far a seed is: Done events committed of Total to write.
type Progress = history.Progress
