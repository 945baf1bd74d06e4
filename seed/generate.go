package seed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
	"github.com/jobboard/jobboard/eventstore"
	"github.com/jobboard/jobboard/storedevents"
)

// segment is one stream's whole history, appended at once.
type segment struct {
	streamID, streamType string
	events               []eventstore.EventData
	// domainEvents are events decoded, for the listing schedule.
	domainEvents []domain.Event
}

// batch is what one transaction appends.
type batch struct {
	segments  []segment
	claims    []commands.Claim
	schedules []commands.ListingSchedule
	events    int
}

// Salts keep the random streams of candidates and companies apart.
const (
	candidateSalt = 0x63616e6469646174 // "candidat"
	companySalt   = 0x636f6d70616e7920 // "company "
)

// generator makes the history. It is deterministic: candidate i and company unit u draw
// from random streams of their own, seeded by (Seed, salt, index).
type generator struct {
	cfg        Config
	mix        Mix
	start      time.Time
	candidates int
	// candidateEvents is how many events the candidates phase emitted (registrations and
	// token rotations); the companies phase gets the rest of the budget.
	candidateEvents int
	// counts by event type of what was emitted.
	counts map[string]int
	// extra marks every event's metadata as synthetic.
	extra map[string]string
}

func newGenerator(cfg Config) *generator {
	g := &generator{cfg: cfg, mix: *cfg.Mix, start: cfg.End.Add(-cfg.Span), counts: map[string]int{}}
	g.candidates = max(1, int(math.Round(float64(cfg.Events)*g.mix.CandidateShare)))
	g.candidates = min(g.candidates, cfg.Events)
	g.extra = map[string]string{"source": "seed", "seed": strconv.FormatUint(cfg.Seed, 10)}
	return g
}

func (g *generator) rng(salt uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(g.cfg.Seed^salt, uint64(i)*0x9e3779b97f4a7c15+1))
}

// newID is a UUIDv7 of t whose random bits come from rng.
func newID(t time.Time, rng *rand.Rand) string {
	var u uuid.UUID
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(u[:6], ms[2:])
	binary.BigEndian.PutUint16(u[6:8], uint16(rng.Uint32()))
	binary.BigEndian.PutUint64(u[8:], rng.Uint64())
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u.String()
}

// candidateWindow is the part of the timeline over which candidates register, in order.
func (g *generator) candidateWindow() time.Duration { return g.cfg.Span * 9 / 10 }

// candidate returns candidate i's id and registration time, without drawing anything else.
func (g *generator) candidate(i int) (string, time.Time, *rand.Rand) {
	rng := g.rng(candidateSalt, i)
	slot := float64(g.candidateWindow()) / float64(g.candidates)
	t := g.start.Add(time.Duration(slot*float64(i) + slot*rng.Float64()))
	return newID(t, rng), t, rng
}

// candidatesBefore is how many candidates (0..k-1) registered before t.
func (g *generator) candidatesBefore(t time.Time) int {
	f := float64(t.Sub(g.start)) / float64(g.candidateWindow())
	return max(0, min(g.candidates, int(f*float64(g.candidates))))
}

// recorder turns an aggregate's changes into a segment's events.
type recorder struct {
	g   *generator
	rng *rand.Rand
	seg *segment
}

type changer interface {
	Changes() []domain.Event
	ClearChanges()
}

func (r recorder) take(a changer, t time.Time, actor, command string) error {
	meta := eventstore.Metadata{Actor: actor, Command: command, Extra: r.g.extra}
	meta.CorrelationID = newID(t, r.rng)
	meta.CausationID = meta.CorrelationID
	for _, e := range a.Changes() {
		ed, err := storedevents.Encode(e, meta)
		if err != nil {
			return err
		}
		id, _ := uuid.Parse(newID(t, r.rng))
		ed.EventID = id
		r.seg.events = append(r.seg.events, ed)
		r.seg.domainEvents = append(r.seg.domainEvents, e)
	}
	a.ClearChanges()
	return nil
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// between returns a random duration in [lo, hi).
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// poisson draws a Poisson variate of mean m (Knuth; m is small).
func poisson(rng *rand.Rand, m float64) int {
	if m <= 0 {
		return 0
	}
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// candidateUnit is candidate i's registration.
func (g *generator) candidateUnit(i int) ([]segment, []commands.Claim, error) {
	id, t, rng := g.candidate(i)
	first, last := pick(rng, firstNames), pick(rng, lastNames)
	// The seed is in the address so that histories of different seeds can share a database.
	email := fmt.Sprintf("%s.%s.%d@%s.seed%d.example", strings.ToLower(first), strings.ToLower(strings.ReplaceAll(last, " ", "")), i,
		pick(rng, []string{"mail", "inbox", "post"}), g.cfg.Seed)
	c, err := domain.RegisterCandidate(id, domain.CandidateInput{Name: first + " " + last, Email: email}, t)
	if err != nil {
		return nil, nil, fmt.Errorf("seed: candidate %d: %w", i, err)
	}
	seg := segment{streamID: id, streamType: c.StreamType()}
	rec := recorder{g, rng, &seg}
	if err := rec.take(c, t, string(commands.RoleAnonymous), "RegisterCandidate"); err != nil {
		return nil, nil, err
	}
	if err := g.maybeRotateToken(rec, c, t, string(commands.RoleCandidate)+":"+id); err != nil {
		return nil, nil, err
	}
	return []segment{seg}, []commands.Claim{{Scope: commands.ClaimCandidateEmail, Key: domain.CandidateEmailKey(email), StreamID: id}}, nil
}

// companyUnit is company u's whole life: registration, jobs and their applications, in
// causal order (a job's stream comes before the applications to it).
func (g *generator) companyUnit(u int, frac float64) ([]segment, []commands.Claim, error) {
	rng := g.rng(companySalt, u)
	end := g.cfg.End
	tc := g.start.Add(time.Duration(float64(g.cfg.Span) * 0.85 * frac)).Add(between(rng, 0, 24*time.Hour))
	name := pick(rng, companyFirst) + " " + pick(rng, companySecond)
	slug := strings.ToLower(strings.ReplaceAll(name, " ", "")) + strconv.Itoa(u)
	in := domain.CompanyInput{
		Name:        name,
		Email:       fmt.Sprintf("jobs@%s.seed%d.example", slug, g.cfg.Seed),
		Website:     "https://" + slug + ".example.com",
		Description: pick(rng, companyPitch),
	}
	companyID := newID(tc, rng)
	c, err := domain.RegisterCompany(companyID, in, tc)
	if err != nil {
		return nil, nil, fmt.Errorf("seed: company %d: %w", u, err)
	}
	seg := segment{streamID: companyID, streamType: c.StreamType()}
	rec := recorder{g, rng, &seg}
	if err := rec.take(c, tc, string(commands.RoleAnonymous), "RegisterCompany"); err != nil {
		return nil, nil, err
	}
	if err := g.maybeRotateToken(rec, c, tc, string(commands.RoleEmployer)+":"+companyID); err != nil {
		return nil, nil, err
	}
	segs := []segment{seg}
	claims := []commands.Claim{{Scope: commands.ClaimCompanyEmail, Key: domain.CompanyEmailKey(in.Email), StreamID: companyID}}

	jobs := 1
	if m := g.mix.JobsPerCompany; m > 1 {
		for p := (m - 1) / m; rng.Float64() < p && jobs < 4*int(m)+4; {
			jobs++
		}
	}
	t := tc
	for j := 0; j < jobs; j++ {
		t = t.Add(between(rng, 10*time.Minute, 30*24*time.Hour))
		if !t.Before(end.Add(-time.Hour)) {
			break
		}
		js, err := g.job(rng, c, slug, t)
		if err != nil {
			return nil, nil, fmt.Errorf("seed: company %d job %d: %w", u, j, err)
		}
		segs = append(segs, js...)
	}
	// One application per candidate and job, as the command path claims it.
	for _, sg := range segs {
		if len(sg.domainEvents) == 0 {
			continue
		}
		if a, ok := sg.domainEvents[0].(*domain.ApplicationSubmitted); ok {
			claims = append(claims, commands.Claim{Scope: commands.ClaimApplication, Key: domain.ApplicationKey(a.JobID, a.CandidateID), StreamID: sg.streamID})
		}
	}
	return segs, claims, nil
}

// tokenRotator is an account whose token can be rotated (Company, Candidate).
type tokenRotator interface {
	changer
	RotateToken(now time.Time)
}

// maybeRotateToken has a share of accounts registered at t rotate their token once, some
// time before the end of the timeline.
func (g *generator) maybeRotateToken(rec recorder, acc tokenRotator, t time.Time, actor string) error {
	if rec.rng.Float64() >= g.mix.TokenRotationShare {
		return nil
	}
	left := g.cfg.End.Sub(t) - time.Minute
	if left <= time.Minute {
		return nil
	}
	at := t.Add(between(rec.rng, time.Minute, left))
	acc.RotateToken(at)
	return rec.take(acc, at, actor, "RotateToken")
}

// job simulates one job from posting to the end of the timeline; it returns the job's
// segment followed by its applications'.
func (g *generator) job(rng *rand.Rand, c *domain.Company, slug string, tp time.Time) ([]segment, error) {
	end, mix := g.cfg.End, g.mix
	companyID := c.ID()
	employer := string(commands.RoleEmployer) + ":" + companyID
	const stripe, scheduler = "system:stripe", "system:expiry-scheduler"
	details, err := g.details(rng, c.Name(), slug)
	if err != nil {
		return nil, err
	}
	jobID := newID(tp, rng)
	job, err := domain.PostJob(jobID, companyID, details, tp)
	if err != nil {
		return nil, err
	}
	seg := segment{streamID: jobID, streamType: job.StreamType()}
	rec := recorder{g, rng, &seg}
	if err := rec.take(job, tp, employer, "PostJob"); err != nil {
		return nil, err
	}
	var apps []segment
	applied := map[int]bool{}
	t := tp
	// at reports whether d after t is still before the end of the timeline, and moves t.
	at := func(d time.Duration) bool {
		if !t.Add(d).Before(end) {
			return false
		}
		t = t.Add(d)
		return true
	}
	if rng.Float64() < mix.DetailsChangeShare && at(between(rng, 10*time.Minute, 48*time.Hour)) {
		if err := job.Update(companyID, g.patch(rng, job.Details()), t); err != nil {
			return nil, err
		}
		if err := rec.take(job, t, employer, "UpdateJob"); err != nil {
			return nil, err
		}
	}
	if rng.Float64() < mix.UnpaidShare {
		if rng.IntN(2) == 0 && at(between(rng, 24*time.Hour, 20*24*time.Hour)) {
			if err := job.Close(companyID, t); err != nil {
				return nil, err
			}
			if err := rec.take(job, t, employer, "CloseJob"); err != nil {
				return nil, err
			}
		}
		return []segment{seg}, nil
	}
	for {
		if !at(between(rng, 2*time.Minute, 72*time.Hour)) {
			break
		}
		plan, price := domain.ListingPlanStandard, g.cfg.StandardPrice
		if rng.Float64() < mix.FeaturedShare {
			plan, price = domain.ListingPlanFeatured, g.cfg.FeaturedPrice
		}
		money, err := domain.NewMoney(price, g.cfg.ListingCurrency)
		if err != nil {
			return nil, err
		}
		replaced, err := g.replacedPayment(rng, job, companyID, plan, t, rec, employer)
		if err != nil {
			return nil, err
		}
		if replaced != "" && !at(between(rng, time.Minute, time.Hour)) {
			break
		}
		paymentID := newID(t, rng)
		_, err = job.RequestListingPayment(companyID, domain.ListingPaymentRequest{
			PaymentID: paymentID, PaymentIntentID: "pi_" + strings.ReplaceAll(newID(t, rng), "-", "")[8:32],
			Plan: plan, Price: money, Duration: g.cfg.ListingDuration,
		}, t)
		if err != nil {
			return nil, err
		}
		if err := rec.take(job, t, employer, "PayForListing"); err != nil {
			return nil, err
		}
		if rng.Float64() < mix.PaymentFailureShare {
			if !at(between(rng, 30*time.Second, 10*time.Minute)) {
				break
			}
			if err := job.FailListingPayment(paymentID, pick(rng, paymentFailures), t); err != nil {
				return nil, err
			}
			if err := rec.take(job, t, stripe, "FailListingPayment"); err != nil {
				return nil, err
			}
			if rng.IntN(2) == 0 || !at(between(rng, time.Hour, 48*time.Hour)) {
				break // given up: the job stays awaiting payment
			}
		}
		if !at(between(rng, 5*time.Second, 5*time.Minute)) {
			break
		}
		if err := job.ConfirmListingPayment(paymentID, money.Amount(), money.Currency().String(), t); err != nil {
			return nil, err
		}
		if err := rec.take(job, t, stripe, "ConfirmListingPayment"); err != nil {
			return nil, err
		}
		published, expires := t, job.ExpiresAt()
		if replaced != "" && rng.IntN(2) == 0 && at(between(rng, time.Second, time.Minute)) {
			// The replaced intent succeeded before its cancel reached Stripe: refunded.
			pay, _ := job.Payment(replaced)
			if err := job.ConfirmListingPayment(replaced, pay.Price.Amount(), pay.Price.Currency().String(), t); !errors.Is(err, domain.ErrNothingDue) {
				return nil, fmt.Errorf("seed: late success of a replaced payment: %v, want nothing due", err)
			}
			if err := job.RefundListingPayment(replaced, "re_"+strings.ReplaceAll(newID(t, rng), "-", "")[8:32], t, t); err != nil {
				return nil, err
			}
			if err := rec.take(job, t, stripe, "ConfirmListingPayment"); err != nil {
				return nil, err
			}
		}
		ends := expires
		closing := rng.Float64() < mix.CloseShare
		if closing {
			ends = published.Add(between(rng, 24*time.Hour, max(25*time.Hour, expires.Sub(published)-time.Hour)))
		}
		// Applications arrive while the listing is live.
		mean := mix.ApplicationsPerJob
		if plan == domain.ListingPlanFeatured {
			mean *= 2
		}
		window := ends.Sub(published)
		if end.Before(ends) {
			window = end.Sub(published)
		}
		if window > 0 {
			n := poisson(rng, mean*float64(window)/float64(expires.Sub(published)))
			times := make([]time.Time, n)
			for i := range times {
				times[i] = published.Add(time.Duration(rng.Int64N(int64(window))))
			}
			slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
			for _, ta := range times {
				a, err := g.application(rng, job, applied, ta)
				if err != nil {
					return nil, err
				}
				if a != nil {
					apps = append(apps, *a)
				}
			}
		}
		if rng.Float64() < mix.DetailsChangeShare/2 {
			tu := published.Add(time.Duration(rng.Int64N(int64(max(window, time.Minute)))))
			if tu.Before(end) {
				if err := job.Update(companyID, g.patch(rng, job.Details()), tu); err != nil {
					return nil, err
				}
				if err := rec.take(job, tu, employer, "UpdateJob"); err != nil {
					return nil, err
				}
			}
		}
		switch {
		case closing && ends.Before(end):
			t = ends
			if err := job.Close(companyID, t); err != nil {
				return nil, err
			}
			if err := rec.take(job, t, employer, "CloseJob"); err != nil {
				return nil, err
			}
		case !closing && expires.Add(5*time.Minute).Before(end):
			t = expires.Add(between(rng, time.Second, 5*time.Minute))
			if err := job.Expire(t); err != nil {
				return nil, err
			}
			if err := rec.take(job, t, scheduler, "ExpireJob"); err != nil {
				return nil, err
			}
		default:
			return append([]segment{seg}, apps...), nil // still published at the end
		}
		if rng.Float64() >= mix.RenewalShare || !at(between(rng, time.Hour, 10*24*time.Hour)) {
			break
		}
	}
	return append([]segment{seg}, apps...), nil
}

// application is a candidate applying to job at t and what happens to the application
// next; nil when no candidate who has not applied yet was registered by then.
// replacedPayment, for PlanChangeShare of payments, requests a listing of the plan other
// than plan, which the company replaces next; it returns that payment's id ("" for none).
func (g *generator) replacedPayment(rng *rand.Rand, job *domain.Job, companyID string, plan domain.ListingPlan, t time.Time, rec recorder, employer string) (string, error) {
	if rng.Float64() >= g.mix.PlanChangeShare {
		return "", nil
	}
	other, price := domain.ListingPlanFeatured, g.cfg.FeaturedPrice
	if plan == domain.ListingPlanFeatured {
		other, price = domain.ListingPlanStandard, g.cfg.StandardPrice
	}
	money, err := domain.NewMoney(price, g.cfg.ListingCurrency)
	if err != nil {
		return "", err
	}
	id := newID(t, rng)
	if _, err := job.RequestListingPayment(companyID, domain.ListingPaymentRequest{
		PaymentID: id, PaymentIntentID: "pi_" + strings.ReplaceAll(newID(t, rng), "-", "")[8:32],
		Plan: other, Price: money, Duration: g.cfg.ListingDuration,
	}, t); err != nil {
		return "", err
	}
	return id, rec.take(job, t, employer, "PayForListing")
}

func (g *generator) application(rng *rand.Rand, job *domain.Job, applied map[int]bool, t time.Time) (*segment, error) {
	k := g.candidatesBefore(t)
	if k == 0 {
		return nil, nil
	}
	idx := -1
	for try := 0; try < 8; try++ {
		if i := rng.IntN(k); !applied[i] {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, nil
	}
	applied[idx] = true
	candidateID, _, _ := g.candidate(idx)
	a, err := domain.SubmitApplication(newID(t, rng), job, candidateID, "https://cv.example.net/"+candidateID+".pdf", pick(rng, coverLetters), t)
	if err != nil {
		return nil, err
	}
	seg := segment{streamID: a.ID(), streamType: a.StreamType()}
	rec := recorder{g, rng, &seg}
	candidate := string(commands.RoleCandidate) + ":" + candidateID
	employer := string(commands.RoleEmployer) + ":" + job.CompanyID()
	if err := rec.take(a, t, candidate, "Apply"); err != nil {
		return nil, err
	}
	withdraw := rng.Float64() < g.mix.WithdrawalShare
	// The chance that the employer moves the application on from each status, and that a
	// move is a rejection.
	steps := []struct {
		to            domain.ApplicationStatus
		move, rejects float64
	}{
		{domain.ApplicationStatusReviewing, 0.75, 0.2},
		{domain.ApplicationStatusInterviewing, 0.8, 0.5},
		{domain.ApplicationStatusOffered, 0.85, 0.55},
		{domain.ApplicationStatusHired, 0.9, 0.15},
	}
	end := g.cfg.End
	for _, s := range steps {
		if withdraw && rng.IntN(3) == 0 {
			break
		}
		if rng.Float64() >= s.move {
			break
		}
		t = t.Add(between(rng, 2*time.Hour, 8*24*time.Hour))
		if !t.Before(end) {
			return &seg, nil
		}
		to := s.to
		if rng.Float64() < s.rejects {
			to = domain.ApplicationStatusRejected
		}
		if err := a.ChangeStatus(job.CompanyID(), to, t); err != nil {
			return nil, err
		}
		if err := rec.take(a, t, employer, "ChangeApplicationStatus"); err != nil {
			return nil, err
		}
		if !a.Status().IsOpen() {
			break
		}
	}
	if withdraw && a.Status().IsOpen() {
		t = t.Add(between(rng, time.Hour, 5*24*time.Hour))
		if t.Before(end) {
			if err := a.Withdraw(candidateID, t); err != nil {
				return nil, err
			}
			if err := rec.take(a, t, candidate, "WithdrawApplication"); err != nil {
				return nil, err
			}
		}
	}
	return &seg, nil
}

var seniorityPrefix = map[string]string{"junior": "Junior ", "mid": "", "senior": "Senior ", "lead": "Lead ", "principal": "Principal "}
var seniorityFactor = map[string]float64{"junior": 0.7, "mid": 1, "senior": 1.3, "lead": 1.55, "principal": 1.8}

// details draws a job's details.
func (g *generator) details(rng *rand.Rand, company, slug string) (domain.JobDetails, error) {
	r := pick(rng, roles)
	seniority := pick(rng, []string{"junior", "mid", "mid", "senior", "senior", "senior", "lead", "principal"})
	employment := pick(rng, []string{"full_time", "full_time", "full_time", "full_time", "full_time", "full_time", "contract", "contract", "part_time", "internship"})
	if employment == "internship" {
		seniority = "junior"
	}
	m := g.market(rng)
	tags := slices.Clone(r.tags)
	rng.Shuffle(len(tags), func(i, j int) { tags[i], tags[j] = tags[j], tags[i] })
	tags = tags[:2+rng.IntN(min(4, len(tags)-1))]
	if m.remote {
		tags = append(tags, "remote")
	}
	title := seniorityPrefix[seniority] + r.title
	if employment == "internship" {
		title = r.title + " Intern"
	}
	var d strings.Builder
	fmt.Fprintf(&d, "%s is hiring a %s to join the %s team.\n\nWhat you will do:\n", company, title, r.team)
	for _, duty := range r.duties {
		fmt.Fprintf(&d, "- %s\n", strings.ToUpper(duty[:1])+duty[1:])
	}
	fmt.Fprintf(&d, "\nWe work with %s. We offer %s and %s.", strings.Join(tags, ", "), pick(rng, perks), pick(rng, perks))
	in := domain.JobDetailsInput{
		Title:          title,
		Description:    d.String(),
		EmploymentType: employment,
		Seniority:      seniority,
		Location:       domain.LocationInput{Remote: m.remote, Regions: slices.Clone(m.regions), Countries: slices.Clone(m.countries)},
		Tags:           tags,
	}
	if m.hasTZ && rng.IntN(3) > 0 {
		in.Location.Timezones = &domain.TimezonesInput{MinUTCOffset: m.tzMin, MaxUTCOffset: m.tzMax}
	}
	if rng.Float64() < 0.8 {
		in.Salary = salary(rng, m, r, seniority, employment)
	}
	if rng.Float64() < 0.2 {
		in.ApplyURL = fmt.Sprintf("https://careers.%s.example.com/jobs/%d", slug, rng.IntN(100000))
	}
	return domain.NewJobDetails(in)
}

func (g *generator) market(rng *rand.Rand) market {
	total := 0
	for _, m := range markets {
		total += m.weight
	}
	n := rng.IntN(total)
	for _, m := range markets {
		if n -= m.weight; n < 0 {
			return m
		}
	}
	return markets[0]
}

// salary draws a range for the market, role and seniority, paid per year (full time), per
// hour (contracts, mostly), per month (internships, and some markets' habit).
func salary(rng *rand.Rand, m market, r role, seniority, employment string) *domain.SalaryInput {
	yearly := m.base * r.factor * seniorityFactor[seniority] * (0.9 + 0.2*rng.Float64())
	period, amount, round := "year", yearly, 1000.0
	switch {
	case employment == "contract" && rng.IntN(4) > 0:
		period, amount, round = "hour", yearly*1.4/1700, 5
	case employment == "internship":
		period, amount, round = "month", yearly*0.35/12, 50
	case employment == "part_time":
		amount = yearly * 0.5
	case (m.currency == "PLN" || m.currency == "INR" || m.currency == "BRL") && rng.IntN(2) == 0:
		period, amount, round = "month", yearly/12, 100
	}
	if m.currency == "JPY" || m.currency == "INR" {
		round *= 100
	}
	lo := math.Max(round, math.Round(amount*0.9/round)*round)
	hi := math.Round(amount*(1.1+0.25*rng.Float64())/round) * round
	minor := math.Pow10(m.minorDigits)
	return &domain.SalaryInput{Min: int64(lo * minor), Max: int64(math.Max(hi, lo) * minor), Currency: m.currency, Period: period}
}

// patch draws an edit that changes something: a tag more, a better salary, or a new title.
func (g *generator) patch(rng *rand.Rand, d domain.JobDetails) domain.JobDetailsPatch {
	in := d.Input()
	switch n := rng.IntN(3); {
	case n == 0 && in.Salary != nil:
		s := *in.Salary
		s.Min, s.Max = s.Min*21/20, s.Max*21/20+1
		return domain.JobDetailsPatch{Salary: &s}
	case n == 1 && len(in.Tags) < domain.MaxTags:
		extra := pick(rng, []string{"english", "hybrid", "visa sponsorship", "startup", "b2b", "fintech", "healthtech", "climate"})
		if !slices.Contains(in.Tags, extra) {
			tags := append(slices.Clone(in.Tags), extra)
			return domain.JobDetailsPatch{Tags: &tags}
		}
	}
	title := in.Title + pick(rng, []string{" (m/f/d)", " - Remote friendly", " (Relocation offered)", " - New team"})
	if len([]rune(title)) > domain.TitleMaxLen {
		title = "Hiring: " + in.Title[:min(len(in.Title), domain.TitleMaxLen-10)]
	}
	return domain.JobDetailsPatch{Title: &title}
}
