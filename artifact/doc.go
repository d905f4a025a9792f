// Package artifact defines the gitless artifact: a Flux-compatible OCI artifact that
// carries a tree of Kubernetes manifests as one reproducible tar+gzip layer.
//
// This package is offline: it builds the layer from a directory ([Build]), makes the
// manifest that describes it ([NewManifest]), checks a manifest read from a registry
// ([ParseManifest]), extracts a layer safely ([Extract]) and compares trees ([DiffTrees]).
// Talking to registries is the job of the sibling package artifact/remote; where registry
// credentials come from is artifact/auth.
//
// The format, in short (docs/artifact-format.md has the whole of it):
//
//   - an OCI image manifest (application/vnd.oci.image.manifest.v1+json) whose config has
//     media type application/vnd.cncf.flux.config.v1+json and whose single layer has
//     application/vnd.cncf.flux.content.v1.tar+gzip, as Flux's OCIRepository expects;
//   - the annotations org.opencontainers.image.source, .revision and .created;
//   - a layer that is byte-for-byte reproducible: regular files only, sorted by path,
//     uid/gid 0, no user names, mode 0644 (0755 where the owner may execute), mtime 0,
//     gzip level 6 with no name or time in its header.
//
// Building and pushing a directory:
//
//	layer, err := artifact.Build(ctx, "deploy/", artifact.DefaultBuildOptions())
//	if err != nil { ... }
//	m, err := artifact.NewManifest(layer.Descriptor, artifact.Metadata{
//		Source:   "https://github.com/acme/app",
//		Revision: "main@sha1:0123456789abcdef0123456789abcdef01234567",
//		Created:  time.Unix(1700000000, 0),
//	})
package artifact
