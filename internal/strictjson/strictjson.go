// Package strictjson decodes JSON from untrusted files the way a verifier must: the input is
// size-limited before parsing, unknown fields are refused, a key may appear only once per
// object (encoding/json silently keeps the last one, which lets two readers disagree about
// one file), and nothing may follow the value.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrInvalid is the root of every error Decode returns.
var ErrInvalid = errors.New("invalid JSON")

// Decode parses data into v strictly. max bounds len(data); callers should also bound the
// read itself (see ReadLimited).
func Decode(data []byte, max int64, v any) error {
	if int64(len(data)) > max {
		return fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrInvalid, len(data), max)
	}
	if err := checkDuplicateKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: unexpected data after the top-level value", ErrInvalid)
	}
	return nil
}

// ReadLimited reads at most max bytes from r and fails if there is more, so a huge file is
// refused without being read into memory.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: larger than the %d-byte limit", ErrInvalid, max)
	}
	return data, nil
}

// checkDuplicateKeys walks the token stream and refuses an object that repeats a key.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkValue(dec, "$", 0); err != nil {
		return err
	}
	return nil
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 64

func walkValue(dec *json.Decoder, at string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d at %s", ErrInvalid, maxDepth, at)
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: at %s: %v", ErrInvalid, at, err)
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, at, depth)
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, fmt.Sprintf("%s[%d]", at, i), depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	}
	if err != nil {
		return fmt.Errorf("%w: at %s: %v", ErrInvalid, at, err)
	}
	return nil
}

func walkObject(dec *json.Decoder, at string, depth int) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: at %s: %v", ErrInvalid, at, err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return fmt.Errorf("%w: duplicate key %q at %s", ErrInvalid, key, at)
		}
		seen[key] = true
		if err := walkValue(dec, at+"."+key, depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: at %s: %v", ErrInvalid, at, err)
	}
	return nil
}
