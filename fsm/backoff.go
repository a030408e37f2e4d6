package fsm

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoffer says how long to wait before the next connection attempt.
type Backoffer interface {
	// Delay is the wait before attempt number retries+1 of a run of failures (retries
	// counts from 0). The machine resets retries once the runner is registered.
	Delay(retries int) time.Duration
}

// Exponential is exponential backoff with jitter: Initial × Multiplier^retries, capped at
// Max, then spread by ±Jitter (a fraction) and capped at Max again, so that runners
// restarted together do not reconnect together.
type Exponential struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
	// Rand returns a number in [0, 1); nil means math/rand/v2.
	Rand func() float64
}

// Delay implements Backoffer. It is safe for concurrent use if Rand is.
func (b Exponential) Delay(retries int) time.Duration {
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(retries))
	if m := float64(b.Max); d > m || math.IsInf(d, 0) || math.IsNaN(d) {
		d = m
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	d *= 1 + b.Jitter*(2*r()-1)
	return min(time.Duration(d), b.Max)
}
