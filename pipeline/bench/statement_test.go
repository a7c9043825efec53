package bench_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/bench"
)

func benchJSON(t *testing.T, opts ...bench.Option) []byte {
	t.Helper()
	data, err := fixture(t, opts...).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestStatementRoundTrip(t *testing.T) {
	data := benchJSON(t)
	st, err := bench.Statement(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := bench.Statement(data)
	if err != nil || !bytes.Equal(st, again) {
		t.Fatal("Statement is not deterministic")
	}
	r, err := bench.CheckStatement(st, data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := bench.Load(data)
	if !reflect.DeepEqual(r, want) {
		t.Fatal("CheckStatement returned a different report")
	}

	// The wire form is the in-toto v1 Statement's JSON, field names as the spec spells them.
	var generic struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate map[string]any `json:"predicate"`
	}
	if err := json.Unmarshal(st, &generic); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if generic.Type != "https://in-toto.io/Statement/v1" || generic.PredicateType != "https://reliquary.dev/benchmark/v1" {
		t.Errorf("type %q predicateType %q", generic.Type, generic.PredicateType)
	}
	if len(generic.Subject) != 2 || generic.Subject[0].Name != "bench.json" || generic.Subject[0].Digest["sha256"] != hex.EncodeToString(sum[:]) ||
		generic.Subject[1].Name != "source" || generic.Subject[1].Digest["gitCommit"] != commitB {
		t.Errorf("subjects %+v", generic.Subject)
	}
	gate := generic.Predicate["gate"].(map[string]any)
	if gate["status"] != "failed" || len(gate["regressions"].([]any)) != 2 {
		t.Errorf("predicate gate %v", gate)
	}
}

// restate edits the statement's JSON generically.
func restate(t *testing.T, st []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(st, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheckStatementRefuses(t *testing.T) {
	data := benchJSON(t)
	st, err := bench.Statement(data)
	if err != nil {
		t.Fatal(err)
	}
	// bench.json with one sample changed: valid, but not what was attested.
	tampered := edit(t, data, func(m map[string]any) {
		s := m["current"].(map[string]any)["series"].([]any)[0].(map[string]any)
		s["values"].([]any)[0] = 0.5
	})
	// An honest statement over a bench.json whose verdict was edited before signing.
	edited := fixture(t)
	for i := range edited.Comparisons {
		if edited.Comparisons[i].Verdict == bench.VerdictRegression {
			edited.Comparisons[i].Verdict = bench.VerdictSame
		}
	}
	edited.Gate.Status, edited.Gate.Regressions = bench.GatePassed, nil
	editedJSON, err := edited.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	editedSt, err := bench.Statement(editedJSON)
	if err != nil {
		t.Fatal(err)
	}
	subjects := func(m map[string]any) []any { return m["subject"].([]any) }
	tests := []struct {
		name      string
		st, bench []byte
		want      string
	}{
		{"tampered bench.json", st, tampered, "sha256"},
		{"other predicate type", restate(t, st, func(m map[string]any) { m["predicateType"] = "https://slsa.dev/provenance/v1" }), data, "predicateType"},
		{"legacy statement type", restate(t, st, func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v0.1" }), data, "_type"},
		{"gate flipped in predicate", restate(t, st, func(m map[string]any) {
			g := m["predicate"].(map[string]any)["gate"].(map[string]any)
			g["status"], g["regressions"] = "passed", nil
		}), data, "predicate does not match"},
		{"other commit", restate(t, st, func(m map[string]any) {
			subjects(m)[1].(map[string]any)["digest"] = map[string]any{"gitCommit": commitA}
		}), data, "subject 1"},
		{"extra subject", restate(t, st, func(m map[string]any) {
			m["subject"] = append(subjects(m), map[string]any{"name": "x", "digest": map[string]any{"sha256": strings.Repeat("0", 64)}})
		}), data, "3 subjects"},
		{"no bench subject", restate(t, st, func(m map[string]any) { m["subject"] = subjects(m)[1:] }), data, "no subject named bench.json"},
		{"unknown field", restate(t, st, func(m map[string]any) { m["extra"] = true }), data, "invalid benchmark statement"},
		{"not JSON", []byte("not json"), data, "invalid benchmark statement"},
		{"too big", make([]byte, bench.MaxStatementSize+1), data, "limit"},
		{"verdicts edited before signing", editedSt, editedJSON, "do not follow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bench.CheckStatement(tc.st, tc.bench)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if !errors.Is(err, bench.ErrStatement) && !errors.Is(err, bench.ErrRecheck) {
				t.Errorf("error %v is neither ErrStatement nor ErrRecheck", err)
			}
		})
	}
}

func TestStatementWithoutCommit(t *testing.T) {
	r := fixture(t)
	r.Current.Commit = ""
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	st, err := bench.Statement(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bench.CheckStatement(st, data); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(st), "gitCommit") {
		t.Error("statement names a commit the report does not have")
	}
}
