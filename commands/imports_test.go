package commands_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsNoInfrastructure keeps the write side free of adapters: a non-test file that
// imports the event store, pgx, Stripe, net/http or another adapter package fails.
func TestImportsNoInfrastructure(t *testing.T) {
	t.Parallel()
	forbidden := []string{
		"github.com/jobboard/jobboard/eventstore",
		"github.com/jobboard/jobboard/repository",
		"github.com/jobboard/jobboard/payments",
		"github.com/jobboard/jobboard/api",
		"github.com/jobboard/jobboard/bus",
		"github.com/jobboard/jobboard/projections",
		"github.com/jobboard/jobboard/readmodels",
		"github.com/jackc/pgx",
		"github.com/stripe/",
		"github.com/ThreeDotsLabs/watermill",
		"github.com/segmentio/kafka-go",
		"github.com/elastic/",
		"github.com/gorilla/",
		"net/http",
		"database/sql",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, strings.TrimSuffix(bad, "/")+"/") {
					t.Errorf("%s imports %q: commands may not depend on adapters or infrastructure", name, path)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no Go files checked")
	}
}
