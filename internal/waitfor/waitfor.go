// Package waitfor waits for the processes the benchmark and the soak start to come up.
package waitfor

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// OK polls url every 100 ms until it answers 200, ctx ends or within has passed.
func OK(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not ready within %s (last: %v)", url, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
