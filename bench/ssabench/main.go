// Command ssabench applies a directory of manifests with fluxcd/pkg/ssa's
// ResourceManager.ApplyAllStaged, as Flux's kustomize-controller does: the library
// gitless-puller could have used instead of puller/apply. bench/sync.sh measures it
// beside the puller. It is a module of its own, so that gitless's go.mod does not
// carry fluxcd/pkg/ssa and controller-runtime's client.
//
//	cd bench/ssabench && go build -o /tmp/ssabench . && /tmp/ssabench -kubeconfig KC -namespace NS DIR
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig")
	namespace := flag.String("namespace", "default", "namespace of every object")
	concurrency := flag.Int("concurrency", 1, "concurrency of the dry-runs (the applies are sequential)")
	flag.Parse()
	if err := run(*kubeconfig, *namespace, *concurrency, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "ssabench:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, namespace string, concurrency int, dir string) error {
	var objs []*unstructured.Unstructured
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			if len(u.Object) > 0 {
				u.SetNamespace(namespace)
				objs = append(objs, u)
			}
		}
	})
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	poller := polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{})
	m := ssa.NewResourceManager(c, poller, ssa.Owner{Field: "ssabench", Group: "bench.example.com"})
	m.SetConcurrency(concurrency)
	start := time.Now()
	cs, err := m.ApplyAllStaged(context.Background(), objs, ssa.DefaultApplyOptions())
	if err != nil {
		return err
	}
	fmt.Printf("applied %d objects (%d entries) in %s\n", len(objs), len(cs.Entries), time.Since(start))
	return nil
}
