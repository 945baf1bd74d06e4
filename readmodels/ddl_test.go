package readmodels_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/jobboard/jobboard/internal/testenv"
	"github.com/jobboard/jobboard/readmodels"
)

// TestVersionDDLMatchesTheMigration: a rebuilt version's tables (ReadTablesDDL,
// SearchTablesDDL) have the columns and indexes of version 1 as the migration made them.
func TestVersionDDLMatchesTheMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	shape := func(schema string) string {
		t.Helper()
		var cols, idx string
		if err := conn.QueryRow(ctx, `SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' ' ||
				is_nullable || ' ' || coalesce(column_default, ''), E'\n' ORDER BY table_name, ordinal_position)
			FROM information_schema.columns WHERE table_schema = $1`, schema).Scan(&cols); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, `SELECT string_agg(replace(indexdef, $1 || '.', 'S.'), E'\n' ORDER BY indexname)
			FROM pg_indexes WHERE schemaname = $1`, schema).Scan(&idx); err != nil {
			t.Fatal(err)
		}
		return cols + "\n" + idx
	}
	for _, tc := range []struct {
		v1, v9 string
		ddl    func(string) ([]string, error)
	}{
		{readmodels.DefaultReadTablesSchema, "rm_v9", readmodels.ReadTablesDDL},
		{readmodels.DefaultSearchSchema, "search_v9", readmodels.SearchTablesDDL},
		{readmodels.DefaultAlertsSchema, "alerts_v9", readmodels.AlertsTablesDDL},
	} {
		stmts, err := tc.ddl(tc.v9)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		if got, want := shape(tc.v9), shape(tc.v1); got != want || !strings.Contains(want, "applied_streams") {
			t.Errorf("%s differs from %s:\n got: %s\nwant: %s", tc.v9, tc.v1, got, want)
		}
	}
	if _, err := readmodels.ReadTablesDDL("bad; drop"); err == nil {
		t.Error("ReadTablesDDL accepted a bad schema name")
	}
}
