package main

import (
	"math"
	"slices"
	"syscall"
	"time"
)

// sample is one measured workload at one in-flight level.
type sample struct {
	workload string
	inFlight int
	tasks    int
	p50, p99 time.Duration
	rate     float64       // tasks per second of wall time
	expired  int           // offers rejected as expired and retried
	benchCPU time.Duration // CPU time this tool (the broker) used while the tasks ran
	treeCPU  time.Duration // CPU time runwire's process tree used while the tasks ran
}

func newSample(name string, inFlight int, lat []time.Duration, elapsed time.Duration, expired int) sample {
	return sample{
		workload: name,
		inFlight: inFlight,
		tasks:    len(lat),
		p50:      percentile(lat, 50),
		p99:      percentile(lat, 99),
		rate:     float64(len(lat)) / elapsed.Seconds(),
		expired:  expired,
	}
}

// percentile is the nearest-rank percentile p (0 < p ≤ 100) of ds; ds is not changed.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// selfCPU is the CPU time (user + system) this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
