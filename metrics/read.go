package metrics

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Read returns the value of the unlabelled sample name on the /metrics page at url, and
// false when the page does not answer or has no such sample. For runwire's own checks of a
// running runwire (the e2e suites), not for a Prometheus server.
func Read(client *http.Client, url, name string) (float64, bool) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, false
	}
	defer func() { _ = resp.Body.Close() }()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(page)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			return n, err == nil
		}
	}
	return 0, false
}
