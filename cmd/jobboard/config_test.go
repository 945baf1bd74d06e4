package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDefaultsWorkWithTheLocalStack(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(flags(t), func(string) string { return "" })
	if err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	if cfg.HTTPAddr != "127.0.0.1:8080" || cfg.KafkaBrokers[0] != "127.0.0.1:9092" {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestAFlagOverridesItsEnvironmentVariable(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HTTP_ADDR": "127.0.0.1:9999", "KAFKA_BROKERS": "a:1, b:2"}
	cfg, err := loadConfig(flags(t, "--http-addr", "127.0.0.1:7777"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:7777" {
		t.Errorf("HTTPAddr = %q, want the flag's value", cfg.HTTPAddr)
	}
	if strings.Join(cfg.KafkaBrokers, ",") != "a:1,b:2" {
		t.Errorf("KafkaBrokers = %q, want the environment's value", cfg.KafkaBrokers)
	}
}

func TestAnInvalidVariableIsNamedInTheError(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ELASTICSEARCH_URL": "localhost:9200", "SHUTDOWN_TIMEOUT": "soon"}
	_, err := loadConfig(flags(t), func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "SHUTDOWN_TIMEOUT") {
		t.Fatalf("err = %v, want it to name SHUTDOWN_TIMEOUT", err)
	}
	env = map[string]string{"ELASTICSEARCH_URL": "localhost:9200"}
	_, err = loadConfig(flags(t), func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "ELASTICSEARCH_URL") {
		t.Fatalf("err = %v, want it to name ELASTICSEARCH_URL", err)
	}
}

// The README's configuration table is the one `jobboard config` prints.
func TestTheReadmeListsEverySetting(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	printConfigTable(&table)
	if !strings.Contains(string(readme), table.String()) {
		t.Fatalf("README.md's configuration table is stale; paste the output of `jobboard config`:\n%s", table.String())
	}
}

func TestReplicationSettingsAreValidated(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) error {
		_, err := loadConfig(flags(t), func(k string) string { return env[k] })
		return err
	}
	cluster := map[string]string{
		"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2",
		"ELASTICSEARCH_SHARDS": "2", "ELASTICSEARCH_REPLICAS": "1",
		"DATABASE_READ_URL": "postgres://jobboard:jobboard@127.0.0.1:15433/jobboard?sslmode=disable",
	}
	if err := load(cluster); err != nil {
		t.Fatalf("a three-broker, two-node cluster with a replica does not validate: %v", err)
	}
	for name, c := range map[string]struct {
		env  map[string]string
		want string
	}{
		"min ISR above the replication factor": {map[string]string{"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "4"}, "KAFKA_MIN_INSYNC_REPLICAS"},
		"min ISR equal to a factor above 1":    {map[string]string{"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "3"}, "one broker down"},
		"no replication factor":                {map[string]string{"KAFKA_REPLICATION_FACTOR": "-1"}, "KAFKA_REPLICATION_FACTOR"},
		"too many shards":                      {map[string]string{"ELASTICSEARCH_SHARDS": "65"}, "ELASTICSEARCH_SHARDS"},
		"negative replicas":                    {map[string]string{"ELASTICSEARCH_REPLICAS": "-1"}, "ELASTICSEARCH_REPLICAS"},
		"a read URL that is not postgres":      {map[string]string{"DATABASE_READ_URL": "mysql://replica/x"}, "DATABASE_READ_URL"},
		"a replica that is not a number":       {map[string]string{"ELASTICSEARCH_REPLICAS": "one"}, "ELASTICSEARCH_REPLICAS"},
	} {
		if err := load(c.env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", name, err, c.want)
		}
	}
}
