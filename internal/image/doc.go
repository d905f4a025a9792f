// Package image builds the container images of gitless and gitless-puller without a
// Docker engine, with go-containerregistry's mutate and remote: a multi-platform OCI
// image index whose images hold a static binary, a CA bundle and a non-root user.
//
// Each image is two layers on an empty base (or on a base image given as an index):
//
//   - the system layer, the same for every command and platform: the CA bundle at
//     /etc/ssl/certs/ca-certificates.crt, /etc/passwd and /etc/group naming root and
//     nonroot (UID and GID 65532, as distroless), /home/nonroot and /tmp;
//   - the binary at /usr/local/bin/NAME, the entrypoint.
//
// The configuration runs as 65532:65532 with SSL_CERT_FILE set and carries the OCI
// labels (source, revision, version, created), which the index repeats as annotations.
// Every file's time and the image's creation time are Options.Created (the commit time),
// owners are numeric and entries sorted, so the same binaries give the same digests.
//
// Example:
//
//	idx, err := image.Build(image.Options{
//		Name:      "gitless-puller",
//		Platforms: []image.Platform{{OS: "linux", Arch: "amd64", Binary: "dist/bin/linux_amd64/gitless-puller"}},
//		CABundle:  caPEM,
//		Created:   commitTime,
//		Labels:    image.Labels("https://github.com/gitless-dev/gitless", commit, "v0.1.0", commitTime),
//	})
//	digest, err := image.Push(ctx, "ghcr.io/gitless-dev/gitless-puller:v0.1.0", idx, image.PushOptions{})
//
// internal/cmd/images (make images) is the command on top.
package image
