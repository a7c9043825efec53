package strictjson_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/internal/strictjson"
)

type doc struct {
	A string `json:"a"`
	B []int  `json:"b"`
	C *doc   `json:"c"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"plain", `{"a":"x","b":[1,2]}`, true},
		{"nested", `{"c":{"a":"y"}}`, true},
		{"duplicate key", `{"a":"x","a":"y"}`, false},
		{"duplicate nested key", `{"c":{"a":"x","a":"y"}}`, false},
		{"unknown field", `{"a":"x","z":1}`, false},
		{"trailing data", `{"a":"x"} {}`, false},
		{"truncated", `{"a":"x"`, false},
		{"wrong type", `{"a":1}`, false},
		{"too deep", strings.Repeat(`{"c":`, 100) + `{}` + strings.Repeat(`}`, 100), false},
		{"same key in sibling objects", `{"c":{"a":"x"},"a":"x"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := strictjson.Decode([]byte(tc.in), 1<<20, &d)
			if (err == nil) != tc.ok {
				t.Fatalf("Decode(%s) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && !errors.Is(err, strictjson.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestSizeLimit(t *testing.T) {
	var d doc
	if err := strictjson.Decode([]byte(`{"a":"0123456789"}`), 8, &d); err == nil {
		t.Fatal("Decode accepted input over the limit")
	}
	if _, err := strictjson.ReadLimited(strings.NewReader(strings.Repeat("x", 100)), 99); err == nil {
		t.Fatal("ReadLimited accepted 100 bytes with a 99-byte limit")
	}
	if b, err := strictjson.ReadLimited(strings.NewReader("xyz"), 3); err != nil || string(b) != "xyz" {
		t.Fatalf("ReadLimited at the limit = %q, %v", b, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"a":"x","b":[1],"c":{"a":"y"}}`))
	f.Add([]byte(`{"a":"x","a":"y"}`))
	f.Add([]byte(`[[[[]]]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d doc
		_ = strictjson.Decode(data, 1<<16, &d)
	})
}
