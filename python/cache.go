package python

import (
	"container/list"
	"crypto/sha256"
	"strings"
	"sync"
)

// analysisCache remembers the static analysis of code under the current allowlists, as n8n's
// runner does (500 entries, oldest evicted): a pass lets the child skip the analysis, a
// violation is answered without a child at all. Safe for concurrent use.
type analysisCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of [32]byte, newest at the front
	items map[[32]byte]*list.Element
	fails map[[32]byte]error
}

func newAnalysisCache(max int) *analysisCache {
	return &analysisCache{max: max, order: list.New(), items: map[[32]byte]*list.Element{}, fails: map[[32]byte]error{}}
}

// key hashes the code with the allowlists it was analysed under.
func analysisKey(code string, allow ...[]string) [32]byte {
	h := sha256.New()
	h.Write([]byte(code))
	for _, a := range allow {
		h.Write([]byte{0})
		h.Write([]byte(strings.Join(a, ",")))
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// lookup says whether k was analysed, and the violation error if it failed.
func (c *analysisCache) lookup(k [32]byte) (seen bool, violation error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		return false, nil
	}
	c.order.MoveToFront(e)
	return true, c.fails[k]
}

// store records the outcome for k (violation nil: passed).
func (c *analysisCache) store(k [32]byte, violation error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
	} else {
		c.items[k] = c.order.PushFront(k)
	}
	if violation != nil {
		c.fails[k] = violation
	}
	for c.order.Len() > c.max {
		old := c.order.Remove(c.order.Back()).([32]byte) //nolint:forcetypeassert // only [32]byte is stored
		delete(c.items, old)
		delete(c.fails, old)
	}
}
