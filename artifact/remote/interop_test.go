package remote_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	fluxoci "github.com/fluxcd/pkg/oci"
	"github.com/google/go-containerregistry/pkg/crane"
	ggcrname "github.com/google/go-containerregistry/pkg/name"
	ggcrremote "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/memory"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// treeDigests maps every regular file under dir to the digest of its content.
func treeDigests(t *testing.T, dir string) map[string]digest.Digest {
	t.Helper()
	out := map[string]digest.Digest{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			t.Errorf("%s is not a regular file", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = digest.FromBytes(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, got, want map[string]digest.Digest) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(got) != len(want) {
		t.Fatalf("got %d files, want %d (%v)", len(got), len(want), keys)
	}
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: got %s, want %s", k, got[k], want[k])
		}
	}
}

// Flux's own client (github.com/fluxcd/pkg/oci, the library behind `flux pull artifact`
// and the reference for OCIRepository) reads what gitless pushes.
func TestFluxReadsGitlessArtifacts(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{}).Host()
	layer := buildDir(t, "testdata/podinfo")
	ref := mustRef(t, "oci://"+host+"/flux/podinfo:eec06d1")
	res, err := remote.New(remote.Options{}).Push(ctx, ref, layer, meta, remote.DefaultPushOptions())
	if err != nil {
		t.Fatal(err)
	}

	flux := fluxoci.NewClient(append(fluxoci.DefaultOptions(), crane.Insecure))
	out := t.TempDir()
	fm, err := flux.Pull(ctx, strings.TrimPrefix(ref.String(), artifact.Scheme), out)
	if err != nil {
		t.Fatalf("flux pull: %v", err)
	}
	sameTree(t, treeDigests(t, out), treeDigests(t, "testdata/podinfo"))
	if fm.Source != meta.Source || fm.Revision != meta.Revision || fm.Created != "2026-07-22T00:00:00Z" {
		t.Fatalf("flux metadata %+v", fm)
	}
	if !strings.HasSuffix(fm.Digest, "@"+res.Digest.String()) {
		t.Fatalf("flux saw digest %s, gitless pushed %s", fm.Digest, res.Digest)
	}
	// Flux lists it with its revision.
	list, err := flux.List(ctx, strings.TrimPrefix(ref.Repo(), artifact.Scheme), fluxoci.ListOptions{})
	if err != nil || len(list) != 1 || list[0].Revision != meta.Revision {
		t.Fatalf("flux list: %+v %v", list, err)
	}
}

// gitless reads what Flux's client pushes.
func TestGitlessReadsFluxArtifacts(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{}).Host()
	flux := fluxoci.NewClient(append(fluxoci.DefaultOptions(), crane.Insecure))
	url := host + "/from-flux/podinfo:v1"
	if _, err := flux.Push(ctx, url, "testdata/podinfo", fluxoci.WithPushMetadata(fluxoci.Metadata{
		Source: meta.Source, Revision: meta.Revision, Created: "2026-07-22T00:00:00Z",
	})); err != nil {
		t.Fatalf("flux push: %v", err)
	}
	out := filepath.Join(t.TempDir(), "out")
	pr, err := remote.New(remote.Options{}).Pull(ctx, mustRef(t, "oci://"+url), out, remote.PullOptions{})
	if err != nil {
		t.Fatalf("gitless pull of a flux artifact: %v", err)
	}
	sameTree(t, treeDigests(t, out), treeDigests(t, "testdata/podinfo"))
	if pr.Artifact.Metadata.Revision != meta.Revision || !pr.Artifact.Metadata.Created.Equal(meta.Created) {
		t.Fatalf("metadata %+v", pr.Artifact.Metadata)
	}
}

// go-containerregistry and oras-go, the two client libraries most tools sit on, read
// the artifact as a valid OCI image manifest with Flux's media types.
func TestOtherClientsReadGitlessArtifacts(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{}).Host()
	layer := buildDir(t, "testdata/podinfo")
	ref := mustRef(t, "oci://"+host+"/clients/podinfo:v1.0.0")
	res, err := remote.New(remote.Options{}).Push(ctx, ref, layer, meta, remote.DefaultPushOptions())
	if err != nil {
		t.Fatal(err)
	}

	gref, err := ggcrname.ParseReference(strings.TrimPrefix(ref.String(), artifact.Scheme), ggcrname.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := ggcrremote.Image(gref, ggcrremote.WithContext(ctx))
	if err != nil {
		t.Fatalf("ggcr: %v", err)
	}
	if d, _ := img.Digest(); d.String() != res.Digest.String() {
		t.Fatalf("ggcr digest %s", d)
	}
	mf, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if string(mf.MediaType) != ocispec.MediaTypeImageManifest || string(mf.Config.MediaType) != artifact.ConfigMediaType ||
		len(mf.Layers) != 1 || string(mf.Layers[0].MediaType) != artifact.ContentMediaType {
		t.Fatalf("ggcr manifest %+v", mf)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc) // ggcr verifies the digest at EOF
	rc.Close()
	if err != nil || digest.FromBytes(b) != layer.Descriptor.Digest {
		t.Fatalf("ggcr layer: %v", err)
	}

	repo, err := orasremote.NewRepository(strings.TrimPrefix(ref.Repo(), artifact.Scheme))
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	store := memory.New()
	desc, err := oras.Copy(ctx, repo, ref.Tag, store, ref.Tag, oras.DefaultCopyOptions)
	if err != nil {
		t.Fatalf("oras copy: %v", err)
	}
	if desc.Digest != res.Digest {
		t.Fatalf("oras digest %s", desc.Digest)
	}
	if ok, _ := store.Exists(ctx, layer.Descriptor); !ok {
		t.Fatal("oras did not copy the layer")
	}
}
