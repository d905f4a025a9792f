package pullertest

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// WaitUntil polls cond every 25 ms until it holds, and fails t once timeout has passed
// without it.
func WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// HTTPGet GETs url and returns the status code and body; on a transport error, 0 and
// the error's text.
func HTTPGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
