package main

import "testing"

func TestModule(t *testing.T) {
	for sym, want := range map[string]string{
		"k8s.io/client-go/informers/core/v1.(*podInformer).Lister":                                        "k8s.io/client-go/informers",
		"k8s.io/client-go/gentype.(*alsoApplier[go.shape.*uint8,go.shape.*k8s.io/api/core/v1.Pod]).Apply": "k8s.io/client-go/gentype",
		"type:.eq.k8s.io/api/core/v1.PodSpec":                                                             "k8s.io/api/core",
		"runtime.mallocgc":                                                                                "runtime",
		"net/http.(*Transport).RoundTrip":                                                                 "net/http",
		"go:itab.*os.File,io.Reader":                                                                      "os",
	} {
		if got := module(sym); got != want {
			t.Errorf("module(%q) = %q, want %q", sym, got, want)
		}
	}
}
