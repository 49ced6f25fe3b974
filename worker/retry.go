package worker

import (
	"math/rand/v2"
	"time"
)

// backoff is the capped exponential retry policy with jitter.
//
// The delay before attempt n+1 is drawn from [d/2, d] where d = min(max, base·2^(n-1)): half of it
// fixed, half random ("equal jitter"). Full jitter ([0, d]) spreads load as well but can make a
// later wait shorter than an earlier one; with half of d fixed, consecutive waits never shrink
// (until the cap), which keeps "the delays grow" true for operators reading logs, while replicas
// retrying the same outage still spread out.
type backoff struct {
	base, max time.Duration
}

// delay returns the wait after the attempt-th failed attempt (1-based). retryAfter, when the
// server asked for one, is a floor; the result never exceeds max (RETRY_MAX_DELAY), whatever
// a proxy's Retry-After asks.
func (b backoff) delay(attempt int, retryAfter time.Duration) time.Duration {
	d := b.base
	for i := 1; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	half := d / 2
	out := half
	if d-half > 0 {
		out += rand.N(d - half + 1)
	}
	return min(max(out, retryAfter), b.max)
}
