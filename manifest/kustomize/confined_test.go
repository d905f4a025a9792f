package kustomize_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/fstree"
	"github.com/gitless-dev/gitless/manifest/kustomize"
)

// With a Root, an overlay reads files anywhere below it (as Flux builds an artifact:
// ../../base/ns.yaml, a generator's ../../config/app.env), and nothing outside it,
// through a path or through a link; without one, kustomize's root-only rule holds.
func TestBuildBelowRoot(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "token")
	if err := os.WriteFile(outside, []byte("OUTSIDE-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := fstree.Write(t, map[string]string{
		"base/ns.yaml":                         "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
		"config/app.env":                       "MODE=prod\n",
		"overlays/prod/kustomization.yaml":     "resources: [../../base/ns.yaml]\nconfigMapGenerator:\n- name: app\n  namespace: shop\n  envs: [../../config/app.env]\n",
		"overlays/escape/kustomization.yaml":   "configMapGenerator:\n- name: stolen\n  namespace: shop\n  files: [" + strings.Repeat("../", 40) + strings.TrimPrefix(outside, "/") + "]\n",
		"overlays/link/kustomization.yaml":     "configMapGenerator:\n- name: stolen\n  namespace: shop\n  files: [token]\n",
		"overlays/absolute/kustomization.yaml": "configMapGenerator:\n- name: stolen\n  namespace: shop\n  files: [" + outside + "]\n",
	})
	if err := os.Symlink(outside, filepath.Join(root, "overlays/link/token")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out, err := kustomize.Build(ctx, filepath.Join(root, "overlays/prod"), kustomize.BuildOptions{Root: root})
	if err != nil || !strings.Contains(string(out), "kind: Namespace") || !strings.Contains(string(out), "MODE: prod") {
		t.Fatalf("below the root: %v\n%s", err, out)
	}
	if _, err := kustomize.Build(ctx, filepath.Join(root, "overlays/prod"), kustomize.BuildOptions{}); err == nil {
		t.Fatal("without a root, the overlay read its parent's files")
	}
	for _, o := range []string{"escape", "link", "absolute"} {
		out, err := kustomize.Build(ctx, filepath.Join(root, "overlays", o), kustomize.BuildOptions{Root: root})
		if err == nil || strings.Contains(string(out), "OUTSIDE-SECRET") {
			t.Errorf("%s: %v\n%s", o, err, out)
		} else if !errors.Is(err, kustomize.ErrRefused) && !strings.Contains(err.Error(), "outside") && !strings.Contains(err.Error(), "security") {
			t.Errorf("%s: refused for another reason: %v", o, err)
		}
	}
	if _, err := kustomize.Build(ctx, dir, kustomize.BuildOptions{Root: root}); !errors.Is(err, kustomize.ErrRefused) {
		t.Errorf("a directory outside the root: %v", err)
	}
}
