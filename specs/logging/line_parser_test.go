package logging_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// humanPrefix matches the time (optional) and level of a human-format line.
var humanPrefix = regexp.MustCompile(`^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})  )?([A-Z]+)  `)

// parseHumanLine turns one human-format line into the map testing/slogtest
// wants: "time" and "level" when present, "msg", and the attributes with
// dotted keys nested as groups. It relies on the message having no spaces,
// which holds for slogtest's records.
func parseHumanLine(line string) (map[string]any, error) {
	m := humanPrefix.FindStringSubmatch(line)
	if m == nil {
		return nil, fmt.Errorf("no time and level in %q", line)
	}
	out := map[string]any{"level": m[2]}
	if m[1] != "" {
		out["time"] = m[1]
	}
	rest := line[len(m[0]):]
	msg, rest, _ := strings.Cut(rest, " ")
	out["msg"] = msg
	for rest != "" {
		var key, value string
		var err error
		if key, rest, err = token(rest); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(rest, "=") {
			return nil, fmt.Errorf("no '=' after key %q in %q", key, line)
		}
		if value, rest, err = token(rest[1:]); err != nil {
			return nil, err
		}
		rest = strings.TrimPrefix(rest, " ")
		insert(out, strings.Split(key, "."), value)
	}
	return out, nil
}

// token reads a bare word up to '=' or ' ', or a Go-quoted string.
func token(s string) (tok, rest string, err error) {
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", "", fmt.Errorf("bad quoting in %q: %w", s, err)
		}
		tok, err = strconv.Unquote(q)
		return tok, s[len(q):], err
	}
	end := strings.IndexAny(s, "= ")
	if end < 0 {
		return s, "", nil
	}
	return s[:end], s[end:], nil
}

func insert(m map[string]any, path []string, value string) {
	for _, group := range path[:len(path)-1] {
		sub, ok := m[group].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[group] = sub
		}
		m = sub
	}
	m[path[len(path)-1]] = value
}
