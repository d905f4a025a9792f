package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user the images run as, distroless's nonroot.
const (
	UID  = 65532
	User = "65532:65532"
	Home = "/home/nonroot"
	// BinDir holds the binary; /usr/local/bin/NAME is the entrypoint.
	BinDir = "/usr/local/bin"
	// CAPath is where the CA bundle goes (Go's and most TLS stacks' default on Linux).
	CAPath = "/etc/ssl/certs/ca-certificates.crt"
)

// OCI label and annotation keys the images carry.
const (
	LabelSource      = "org.opencontainers.image.source"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelVersion     = "org.opencontainers.image.version"
	LabelCreated     = "org.opencontainers.image.created"
	LabelTitle       = "org.opencontainers.image.title"
	LabelBaseName    = "org.opencontainers.image.base.name"
	LabelBaseDigest  = "org.opencontainers.image.base.digest"
	LabelDescription = "org.opencontainers.image.description"
)

// Platform is one platform of the image and the static binary built for it.
type Platform struct {
	OS, Arch, Variant string
	// Binary is the path of the binary; it must be statically linked for OS/Arch.
	Binary string
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Arch
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Options describe an image.
type Options struct {
	// Name is the command: the binary goes to /usr/local/bin/NAME, the entrypoint.
	Name string
	// Platforms, one image each, in the index in this order.
	Platforms []Platform
	// CABundle is the PEM CA bundle installed at CAPath. Required: the commands speak TLS
	// to registries, Fulcio and Rekor.
	CABundle []byte
	// Created is the time of every file and of the image: the commit time, so that a
	// rebuild of the same commit gives the same digest. Never the wall clock.
	Created time.Time
	// Labels are the image's OCI labels, repeated as annotations on the index (Labels
	// makes the usual set).
	Labels map[string]string
	// Base, when set, is an index holding an image for every platform, on which the
	// layers are added (a base with a shell for CI jobs); BaseName names it in the
	// base.name annotation. Nil: the images hold only what this package adds.
	Base     v1.ImageIndex
	BaseName string
}

// Labels returns the OCI labels of a release image.
func Labels(source, revision, version string, created time.Time) map[string]string {
	l := map[string]string{LabelVersion: version, LabelCreated: created.UTC().Format(time.RFC3339)}
	if source != "" {
		l[LabelSource] = source
	}
	if revision != "" {
		l[LabelRevision] = revision
	}
	return l
}

// ErrOptions is wrapped by Build's errors about its options.
var ErrOptions = errors.New("invalid image options")

// Build assembles the multi-platform image index. It reads the binaries and the base but
// touches no registry.
func Build(opts Options) (v1.ImageIndex, error) {
	if opts.Name == "" || path.Base(opts.Name) != opts.Name {
		return nil, fmt.Errorf("%w: name %q must be a plain file name", ErrOptions, opts.Name)
	}
	if len(opts.Platforms) == 0 {
		return nil, fmt.Errorf("%w: no platforms", ErrOptions)
	}
	if len(bytes.TrimSpace(opts.CABundle)) == 0 || !bytes.Contains(opts.CABundle, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("%w: the CA bundle holds no PEM certificate", ErrOptions)
	}
	if opts.Created.IsZero() {
		return nil, fmt.Errorf("%w: no creation time (give the commit time)", ErrOptions)
	}
	sys, err := layer(systemFiles(opts.CABundle, opts.Created))
	if err != nil {
		return nil, fmt.Errorf("building the system layer: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	seen := map[string]bool{}
	for _, p := range opts.Platforms {
		if seen[p.String()] {
			return nil, fmt.Errorf("%w: platform %s given twice", ErrOptions, p)
		}
		seen[p.String()] = true
		img, err := platformImage(opts, p, sys)
		if err != nil {
			return nil, fmt.Errorf("building the %s image of %s: %w", p, opts.Name, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch, Variant: p.Variant}},
		})
	}
	return mutate.Annotations(idx, annotations(opts)).(v1.ImageIndex), nil
}

func annotations(opts Options) map[string]string {
	a := map[string]string{LabelTitle: opts.Name}
	for k, v := range opts.Labels {
		a[k] = v
	}
	if opts.BaseName != "" {
		a[LabelBaseName] = opts.BaseName
	}
	return a
}

func platformImage(opts Options, p Platform, sys v1.Layer) (v1.Image, error) {
	base, baseDigest, err := baseFor(opts.Base, p)
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(p.Binary)
	if err != nil {
		return nil, err
	}
	if err := checkStatic(bin, p); err != nil {
		return nil, fmt.Errorf("%s: %w", p.Binary, err)
	}
	binLayer, err := layer([]file{
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/local/", mode: 0o755, dir: true},
		{name: "usr/local/bin/", mode: 0o755, dir: true},
		{name: "usr/local/bin/" + opts.Name, mode: 0o755, data: bin},
	}, opts.Created)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(base, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	created := v1.Time{Time: opts.Created.UTC()}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: sys, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "gitless image: CA bundle, nonroot user", Comment: "system"}},
		mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "gitless image: " + BinDir + "/" + opts.Name}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Arch, p.Variant
	cf.Created = created
	cf.Author = ""
	cf.Config.Entrypoint = []string{BinDir + "/" + opts.Name}
	cf.Config.Cmd = nil
	cf.Config.User = User
	cf.Config.WorkingDir = Home
	cf.Config.Env = env(cf.Config.Env)
	labels := map[string]string{}
	for k, v := range cf.Config.Labels {
		labels[k] = v
	}
	for k, v := range annotations(opts) {
		labels[k] = v
	}
	if baseDigest != "" {
		labels[LabelBaseDigest] = baseDigest
	}
	cf.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, labels).(v1.Image), nil
}

// env sets PATH, HOME and SSL_CERT_FILE, keeping the base's other variables.
func env(base []string) []string {
	set := map[string]string{
		"PATH":          "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME":          Home,
		"SSL_CERT_FILE": CAPath,
	}
	var out []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ours := set[k]; !ours {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+set[k])
	}
	return out
}

// baseFor returns the base image for p and its digest ("" for the empty base).
func baseFor(base v1.ImageIndex, p Platform) (v1.Image, string, error) {
	if base == nil {
		return empty.Image, "", nil
	}
	im, err := base.IndexManifest()
	if err != nil {
		return nil, "", fmt.Errorf("reading the base index: %w", err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == p.OS && d.Platform.Architecture == p.Arch && (p.Variant == "" || d.Platform.Variant == p.Variant) {
			img, err := base.Image(d.Digest)
			if err != nil {
				return nil, "", fmt.Errorf("reading the %s base image %s: %w", p, d.Digest, err)
			}
			return img, d.Digest.String(), nil
		}
	}
	return nil, "", fmt.Errorf("%w: the base image has no %s image", ErrOptions, p)
}

// file is one entry of a layer; names end in / for directories.
type file struct {
	name     string
	mode     int64
	uid, gid int
	dir      bool
	data     []byte
}

func systemFiles(ca []byte, created time.Time) ([]file, time.Time) {
	return []file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: ca},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: UID, gid: UID, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
	}, created
}

// layer makes a reproducible layer: entries sorted, numeric owners, one mtime, and
// go-containerregistry's gzip (no name or time in the header).
func layer(files []file, mtime time.Time) (v1.Layer, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: mtime.UTC().Truncate(time.Second), Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}
