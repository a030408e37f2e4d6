package tasks

import (
	"bytes"
	"encoding/json"
	"errors"
)

// errNotObject and errSyntax are Fields' only errors.
var (
	errNotObject = errors.New("not a JSON object")
	errSyntax    = errors.New("not valid JSON")
)

// Fields returns the values of the named top-level keys of the JSON object raw, nil for a key
// that is absent (the last one wins, as with encoding/json). It decodes nothing else: the
// other values are skipped by finding where they end, so a 200 MB "items" costs one fast
// pass over its bytes and no allocation. The values alias raw. Keys match exactly (n8n sends
// camelCase). raw should be valid JSON, as every broker frame is once transport.Decode has
// accepted it; Fields reports the faults it trips over but does not validate.
func Fields(raw []byte, keys ...string) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(keys))
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, errNotObject
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return out, nil
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return nil, errSyntax
		}
		end, err := skipString(raw, i)
		if err != nil {
			return nil, err
		}
		key := string(raw[i+1 : end-1])
		if bytes.IndexByte(raw[i:end], '\\') >= 0 {
			if json.Unmarshal(raw[i:end], &key) != nil {
				return nil, errSyntax
			}
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return nil, errSyntax
		}
		i = skipSpace(raw, i+1)
		vend, err := skipValue(raw, i)
		if err != nil {
			return nil, err
		}
		for k, want := range keys {
			if key == want {
				out[k] = raw[i:vend]
			}
		}
		i = skipSpace(raw, vend)
		switch {
		case i < len(raw) && raw[i] == ',':
			i = skipSpace(raw, i+1)
		case i < len(raw) && raw[i] == '}':
			return out, nil
		default:
			return nil, errSyntax
		}
	}
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string that starts at raw[i] ('"').
func skipString(raw []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(raw[j:], '"')
		if k < 0 {
			return 0, errSyntax
		}
		q := j + k
		backslashes := 0
		for p := q - 1; p > i && raw[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

// skipValue returns the index just past the value that starts at raw[i].
func skipValue(raw []byte, i int) (int, error) {
	if i >= len(raw) {
		return 0, errSyntax
	}
	switch raw[i] {
	case '"':
		return skipString(raw, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); {
			k := bytes.IndexAny(raw[j:], `"{}[]`)
			if k < 0 {
				return 0, errSyntax
			}
			j += k
			switch raw[j] {
			case '"':
				end, err := skipString(raw, j)
				if err != nil {
					return 0, err
				}
				j = end
				continue
			case '{', '[':
				depth++
			default:
				depth--
			}
			j++
			if depth == 0 {
				return j, nil
			}
		}
		return 0, errSyntax
	default: // a number, true, false or null
		j := i
		for j < len(raw) {
			switch raw[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j, nil
			}
			j++
		}
		if j == i {
			return 0, errSyntax
		}
		return j, nil
	}
}
