package app

import (
	"fmt"
	"time"

	"github.com/jobboard/jobboard/commands"
	"github.com/jobboard/jobboard/domain"
)

// Default listing prices, in minor units of the listing currency.
const (
	defaultListingPriceStandard = 4900
	defaultListingPriceFeatured = 9900
)

// validateAPI checks the settings of the command API; zero prices, currency and duration
// take the commands' defaults.
func (c Config) validateAPI() []error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	if c.ListingPriceStandard < 0 {
		bad("LISTING_PRICE_STANDARD", "must not be negative")
	}
	if c.ListingPriceFeatured < 0 {
		bad("LISTING_PRICE_FEATURED", "must not be negative")
	}
	if c.ListingCurrency != "" {
		if _, err := domain.ParseCurrency(c.ListingCurrency); err != nil {
			bad("LISTING_CURRENCY", "want an ISO 4217 code such as EUR, got %q", c.ListingCurrency)
		}
	}
	if c.ListingDuration != 0 && c.ListingDuration < time.Hour {
		bad("LISTING_DURATION", "must be at least 1h, got %s", c.ListingDuration)
	}
	if _, err := c.listingPrices(); err != nil && len(errs) == 0 {
		bad("LISTING_PRICE_STANDARD", "%v", err)
	}
	if c.ConsistencyTimeout < 0 {
		bad("CONSISTENCY_TIMEOUT", "must not be negative")
	}
	if c.ConsistencyMaxWaiters < 0 {
		bad("CONSISTENCY_MAX_WAITERS", "must not be negative")
	}
	if c.ConsistencyPollInterval < 0 {
		bad("CONSISTENCY_POLL_INTERVAL", "must not be negative")
	}
	if err := c.RegistrationRateLimit.Validate(); err != nil {
		bad("RATE_LIMIT_REGISTRATION", "%v", err)
	}
	if err := c.ApplicationRateLimit.Validate(); err != nil {
		bad("RATE_LIMIT_APPLICATION", "%v", err)
	}
	if err := c.SearchRateLimit.Validate(); err != nil {
		bad("RATE_LIMIT_SEARCH", "%v", err)
	}
	if err := c.EmployerRateLimit.Validate(); err != nil {
		bad("RATE_LIMIT_EMPLOYER", "%v", err)
	}
	if c.SearchTimeout < 0 {
		bad("SEARCH_TIMEOUT", "must not be negative")
	}
	if c.SearchFacetsMaxAge < 0 {
		bad("SEARCH_FACETS_MAX_AGE", "must not be negative")
	}
	return errs
}

// listingPrices turns the settings into the commands' prices (zero fields: defaults).
func (c Config) listingPrices() (commands.ListingPrices, error) {
	p := commands.ListingPrices{Duration: c.ListingDuration}
	currency := c.ListingCurrency
	if currency == "" {
		currency = "EUR"
	}
	standard, featured := c.ListingPriceStandard, c.ListingPriceFeatured
	if standard == 0 {
		standard = defaultListingPriceStandard
	}
	if featured == 0 {
		featured = defaultListingPriceFeatured
	}
	var err error
	if p.Standard, err = domain.NewMoney(standard, currency); err != nil {
		return p, err
	}
	if p.Featured, err = domain.NewMoney(featured, currency); err != nil {
		return p, err
	}
	return p, nil
}
