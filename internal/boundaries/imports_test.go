package boundaries_test

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/jobboard/jobboard"

// rule says what one package's non-test files may import. Module packages are named by
// their path inside the module ("eventstore"), outside modules by their module path
// ("github.com/jackc/pgx/v5" allows its sub-packages too). The standard library is allowed
// except for the paths in stdNot.
type rule struct {
	// all: the package wires the program and may import anything (cmd/, internal/app).
	all    bool
	may    []string
	stdNot []string
}

// Outside modules, by what they are.
const (
	pgx        = "github.com/jackc/pgx/v5"
	uuid       = "github.com/google/uuid"
	watermill  = "github.com/ThreeDotsLabs/watermill"
	kafka      = "github.com/segmentio/kafka-go"
	elastic    = "github.com/elastic/go-elasticsearch/v8"
	stripe     = "github.com/stripe/stripe-go/v85"
	prometheus = "github.com/prometheus/client_golang"
	goose      = "github.com/pressly/goose/v3"
)

// imports is the table: every package of the module has a row. Dependencies point inward:
// domain is the standard library only; commands is domain and the ports it declares itself;
// adapters import the core and, as listed here, each other; only cmd/ and internal/app
// know everything. A row for a package that does not exist (yet) is allowed.
var imports = map[string]rule{
	"domain":               {},
	"internal/apperr":      {},
	"internal/consistency": {},
	// Signed one-click unsubscribe tokens (e-mails carry them, the API checks them).
	"internal/unsubscribe": {},
	// No adapter, no I/O library: the write side is tested without engines.
	"commands": {
		may:    []string{"domain", "internal/apperr", uuid},
		stdNot: []string{"net/http", "database/sql"},
	},
	// The in-memory store and the acceptance suite every commands.EventStore passes.
	// What the handler tests share, over any store and gateway.
	"commands/commandstest":   {may: []string{"commands", "domain", "internal/apperr"}},
	"commands/memstore":       {may: []string{"commands", "domain"}},
	"commands/eventstoretest": {may: []string{"commands", "domain"}},
	// The application layer: every use case behind one shape, for every front door.
	// The application layer: every use case behind one handler shape. Its operator handlers
	// orchestrate the projections' rebuilds and read the raw history, so it reaches those
	// adapters (and the pool they take) directly; front doors reach it only.
	"application": {may: []string{"storedevents", "domain", "commands", "readmodels", "projections", "eventstore", "repository",
		"internal/apperr", "internal/consistency", pgx, uuid, prometheus}},

	// Adapters.
	// The stored events' own versioned payload types and the one codec every reader and
	// writer of the history uses.
	"storedevents":                {may: []string{"domain", "eventstore"}},
	"eventstore":                  {may: []string{pgx, uuid, watermill}},
	"repository":                  {may: []string{"storedevents", "commands", "domain", "eventstore", pgx}},
	"payments":                    {may: []string{"commands", "internal/apperr", stripe}},
	"bus":                         {may: []string{watermill, kafka}},
	"readmodels":                  {may: []string{"internal/apperr", "internal/consistency", pgx, elastic}},
	"projections":                 {may: []string{"storedevents", "bus", "domain", "eventstore", "readmodels", pgx, uuid, watermill, elastic, prometheus}},
	"projections/projectionstest": {may: []string{"storedevents", "bus", "domain", "eventstore", pgx, uuid, watermill}},
	"history":                     {may: []string{"eventstore", pgx, uuid}},
	"migrations":                  {may: []string{pgx, goose}},
	// The email front door: events in (through the projections' runner), email out.
	"notifier": {may: []string{"projections", "domain", "eventstore", pgx, prometheus, "github.com/wneessen/go-mail"}},
	// The front door: HTTP concerns only. It calls the application layer with the commands'
	// and read models' own types; no store of its own (no pgx, no eventstore).
	"api": {may: []string{"application", "commands", "readmodels", "domain", "internal/apperr", "internal/consistency", "internal/unsubscribe", uuid,
		"github.com/gorilla/mux", prometheus, stripe, "golang.org/x/time/rate"}},
	// The browser front door: pages over the same application layer, no store of its own.
	"web": {may: []string{"application", "commands", "readmodels", "domain", "internal/apperr", "internal/consistency",
		"internal/signinlink", uuid, "github.com/gorilla/mux", "golang.org/x/time/rate"}},
	// The signed sign-in links the web checks and the notifier e-mails: standard library only.
	"internal/signinlink": {},
	// Job alert e-mails: matching (readmodels) into the notifier's outbox.
	"alerting": {may: []string{"domain", "notifier", "projections", "readmodels", "internal/unsubscribe", pgx}},
	// The PostgreSQL implementation of the application's idempotency store.
	"idempotency": {may: []string{"application", "internal/apperr", pgx}},
	// The synthetic history writes through the command handlers and the PostgreSQL store.
	"seed": {may: []string{"storedevents", "commands", "domain", "eventstore", "history", "repository", pgx, uuid, "golang.org/x/sync"}},

	// The composition root and the program.
	"internal/app": {all: true},
	"cmd/jobboard": {all: true},

	// Test and tool support.
	"internal/testenv":    {may: []string{"migrations", pgx}},
	"internal/boundaries": {},
	// Drives Debian's Chromium from the browser tests.
	"internal/browsertest":   {may: []string{"github.com/chromedp/chromedp", "github.com/chromedp/cdproto"}},
	"stack/probe":            {may: []string{kafka}},
	"tools/fuzz-api/seed":    {may: []string{uuid, stripe}},
	"tools/web-audit/report": {},
	// Signs an employer in for the Lighthouse run (the e-mailed link, built as the notifier does).
	"tools/web-audit/session": {may: []string{"internal/signinlink"}},
}

// allows reports whether r lets a package import path.
func (r rule) allows(path string) bool {
	if r.all {
		return true
	}
	if rel, ok := strings.CutPrefix(path, module+"/"); ok {
		return slices.Contains(r.may, rel)
	}
	first, _, _ := strings.Cut(path, "/")
	if !strings.Contains(first, ".") && path != "C" { // the standard library
		return !slices.ContainsFunc(r.stdNot, func(p string) bool { return path == p || strings.HasPrefix(path, p+"/") })
	}
	return slices.ContainsFunc(r.may, func(m string) bool {
		return strings.Contains(m, ".") && (path == m || strings.HasPrefix(path, m+"/"))
	})
}

// TestImportsFollowTheTable checks every non-test file of every package of the module,
// under every build tag the module uses, against the table.
func TestImportsFollowTheTable(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	checked := map[string]bool{}
	reported := map[string]bool{} // a file seen under both tag sets is reported once
	for _, tags := range [][]string{nil, {"faults"}} {
		ctx := build.Default
		ctx.BuildTags = tags
		err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if name := d.Name(); dir != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "bin" || name == "node_modules" || name == "vendor") {
				return filepath.SkipDir
			}
			pkg, err := ctx.ImportDir(dir, 0)
			var noGo *build.NoGoError
			if errors.As(err, &noGo) {
				return nil
			}
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, dir)
			rel = filepath.ToSlash(rel)
			if len(pkg.GoFiles) == 0 { // test files only
				return nil
			}
			checked[rel] = true
			r, ok := imports[rel]
			if !ok {
				t.Errorf("package %s has no row in the import table (internal/boundaries/imports_test.go): add one", rel)
				return nil
			}
			for _, path := range pkg.Imports {
				if r.allows(path) {
					continue
				}
				for _, pos := range pkg.ImportPos[path] {
					file, _ := filepath.Rel(root, pos.Filename)
					msg := fmt.Sprintf("%s:%d: package %s imports %s, which its row of the import table does not allow", filepath.ToSlash(file), pos.Line, rel, path)
					if !reported[msg] {
						reported[msg] = true
						t.Error(msg)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The walk must have seen the packages the rules are about, or the test proves nothing.
	for _, must := range []string{"domain", "commands", "api", "internal/app", "cmd/jobboard"} {
		if !checked[must] {
			t.Errorf("package %s was not checked", must)
		}
	}
	var absent []string
	for p := range imports {
		if !checked[p] {
			absent = append(absent, p)
		}
	}
	sort.Strings(absent)
	t.Logf("%d packages checked; rows without a package: %v", len(checked), absent)
}

// TestTheTableRefusesForbiddenImports shows the rules bite: the imports STYLE.md forbids are
// refused by the rows the test enforces.
func TestTheTableRefusesForbiddenImports(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ pkg, path string }{
		{"domain", module + "/internal/apperr"},
		{"domain", uuid},
		{"commands", module + "/eventstore"},
		{"commands", module + "/repository"},
		{"commands", module + "/payments"},
		{"commands", module + "/api"},
		{"commands", module + "/bus"},
		{"commands", module + "/projections"},
		{"commands", module + "/readmodels"},
		{"commands", pgx + "/pgxpool"},
		{"commands", stripe},
		{"commands", watermill + "/message"},
		{"commands", kafka},
		{"commands", elastic},
		{"commands", "github.com/gorilla/mux"},
		{"commands", "net/http"},
		{"commands", "database/sql"},
		{"readmodels", module + "/projections"},
		{"payments", module + "/repository"},
		{"api", module + "/eventstore"},
		{"api", pgx + "/pgxpool"},
		{"api", module + "/projections"},
	} {
		if imports[tc.pkg].allows(tc.path) {
			t.Errorf("the table lets %s import %s", tc.pkg, tc.path)
		}
	}
	if !imports["commands"].allows(module+"/domain") || !imports["domain"].allows("time") {
		t.Error("the table refuses an import the rules allow")
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
