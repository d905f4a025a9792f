package webhook_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/puller/webhook"
)

// Requests nobody can authenticate (an unknown source here) cost no memory while they
// are held open: the body is read to its cap but not kept. Before, each held 1 MiB,
// and a few hundred stalled connections took the puller past its memory limit.
func TestUnauthenticatedBodiesAreNotKept(t *testing.T) {
	h := webhook.NewHandler(webhook.Options{
		Token:   func(context.Context, string) ([]byte, error) { return nil, webhook.ErrUnknownSource },
		Trigger: func(context.Context, string) error { t.Error("triggered"); return nil }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const conns, size = 50, webhook.DefaultMaxBody - 1
	chunk := strings.Repeat("x", 64<<10)
	for range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /hook/apps HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size+1)
		for sent := 0; sent < size; sent += len(chunk) {
			c.Write([]byte(chunk[:min(len(chunk), size-sent)]))
		}
	}
	time.Sleep(time.Second)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 16<<20 {
		t.Fatalf("%d unauthenticated requests held open hold %d MiB", conns, grew>>20)
	}
}
