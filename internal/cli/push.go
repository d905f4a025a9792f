package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/sign"
)

type pushOptions struct {
	path           string
	render         []string
	rend           renderFlags
	tags           []string
	movingTags     []string
	allowOverwrite bool
	allowRollback  bool
	prov           provenanceFlags
	build          buildFlags
	reg            clikit.RegistryFlags
	out            clikit.Output
	signing        pushSigning
	diffTag        diffTagFlag
}

// pushOutput is what push prints with -o json.
type pushOutput struct {
	URL        string   `json:"url"`
	Repository string   `json:"repository"`
	Tag        string   `json:"tag,omitempty"`
	Tags       []string `json:"tags"`
	Digest     string   `json:"digest"`
	Unchanged  bool     `json:"unchanged"`
	// Pushed is false when nothing was uploaded or moved: every tag already pointed at
	// the digest, or --diff-tag found the same content.
	Pushed    bool               `json:"pushed"`
	DiffTag   string             `json:"diffTag,omitempty"`
	Updates   []remote.TagUpdate `json:"tagUpdates"`
	Layer     string             `json:"layerDigest"`
	Files     int                `json:"files"`
	Metadata  artifact.Metadata  `json:"metadata"`
	Signature *sign.Result       `json:"signature,omitempty"`
	// BuiltBy names the CI run whose artifact the tags kept: this run built the same
	// artifact but for its own run URL (a retried job).
	BuiltBy string `json:"builtBy,omitempty"`
}

func newPushCmd(env Env, g *globalFlags) *cobra.Command {
	o := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push oci://REGISTRY/REPOSITORY[:TAG] --path DIR | --render SRC",
		Short: "Package a directory of manifests and push it as an OCI artifact",
		Long: `Package DIR (recursively) into one reproducible tar+gzip layer with Flux's media types
and push it. Tags are immutable: pushing a tag that points at another digest fails unless
the tag is listed with --moving-tag (default: latest) or --allow-overwrite is given. A
moving tag does not move back to an artifact created before the one it names (a re-run
of an old pipeline, a hotfix of an older line): it stays, with a warning, and the other
tags are pushed; --allow-rollback moves it. A push whose content equals what every tag
already holds uploads nothing and says so.

Provenance (source, revision, created) comes from the flags, else from GitHub Actions or
GitLab CI variables and SOURCE_DATE_EPOCH, else from git in DIR; never from the clock.`,
		Example: `  gitless push oci://ghcr.io/acme/app-manifests:$GITHUB_SHA --path ./deploy --tag latest
  gitless push oci://127.0.0.1:5000/demo:v1.0.0 --path ./deploy --source https://github.com/acme/app \
    --revision main@sha1:0123abc... --created 2026-01-01T00:00:00Z -o json`,
		Args: clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := o.out.Resolve(nil, env.Err); err != nil {
				return err
			}
			if (o.path == "") == (len(o.render) == 0) {
				return clikit.Usagef("give one of --path and --render")
			}
			ref, err := parseRef(a[0])
			if err != nil {
				return err
			}
			if ref.Digest != "" {
				return clikit.Usagef("push takes a tag, not a digest: %s", ref)
			}
			bopts, err := o.build.options()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := o.signing.prepare(ctx, env, cmd.Flags()); err != nil {
				return err
			}
			c, err := registryClient(ctx, env, g, &o.reg, ref.Registry)
			if err != nil {
				return err
			}
			popts := remote.PushOptions{
				Tags:   o.tags,
				Policy: artifact.TagPolicy{AllowOverwrite: o.allowOverwrite, AllowRollback: o.allowRollback, Moving: o.movingTags},
			}
			// The registry side starts now (the tags are read, the config blob goes
			// up) while the tree is rendered, checked and packaged; with --diff-tag
			// only once the tag is known to hold other content, so that an unchanged
			// tree sends nothing.
			var pending *remote.PendingPush
			if o.diffTag.tag == "" {
				pending = c.StartPush(ctx, ref, popts)
			}
			finished := false
			defer func() {
				if pending != nil && !finished {
					pending.Abort()
				}
			}()
			gitDir := o.path
			var rendered *render.Result
			if len(o.render) > 0 {
				dir, res, cleanup, err := renderForPush(ctx, env, g, &o.rend, &o.build, &o.reg, ref.Registry, o.render)
				if err != nil {
					return err
				}
				defer cleanup()
				rendered = res
				gitDir, o.path = sourceDir(o.render[0]), dir
				// render parsed every object and wrote the YAML itself: checking it
				// again would only cost time.
				bopts.SkipYAMLCheck = true
			}
			meta, err := o.prov.metadata(ctx, env, gitDir)
			if err != nil {
				return err
			}
			if rendered != nil && len(rendered.Charts) > 0 {
				a, err := chartsAnnotation(rendered.Charts)
				if err != nil {
					return err
				}
				if meta.Annotations == nil {
					meta.Annotations = map[string]string{}
				}
				if _, given := meta.Annotations[artifact.AnnotationRenderedCharts]; !given {
					meta.Annotations[artifact.AnnotationRenderedCharts] = a
				}
			}
			layer, err := artifact.Build(ctx, o.path, bopts)
			if err != nil {
				return err
			}
			warnFluxIgnored(env, layer)
			if err := o.signing.ready(); err != nil {
				return err
			}
			if same, err := o.diffTag.unchanged(ctx, c, ref, layer); err != nil || same != nil {
				if err != nil {
					return err
				}
				return o.diffTag.report(env, o.out, ref, same, layer)
			}
			if pending == nil {
				pending = c.StartPush(ctx, ref, popts)
			}
			finished = true
			res, err := pending.Finish(ctx, layer, meta)
			if err != nil {
				return err
			}
			if res.BuiltBy != "" {
				meta.BuildURL = res.BuiltBy // what the digest says
			}
			sig, err := o.signing.sign(ctx, env, g, &o.reg, res.Reference)
			if err != nil {
				return err
			}
			if o.out.Structured() {
				out := pushOutput{
					URL: res.Reference.String(), Repository: ref.Repo(), Tag: ref.Tag, Digest: res.Digest.String(),
					Unchanged: res.Unchanged, Pushed: !res.Unchanged, DiffTag: o.diffTag.tag, Updates: res.Tags, Layer: layer.Descriptor.Digest.String(), Files: len(layer.Files), Metadata: meta, Signature: sig,
					BuiltBy: res.BuiltBy,
				}
				out.Tags = []string{}
				for _, t := range res.Tags {
					out.Tags = append(out.Tags, t.Tag)
				}
				return o.out.Write(env.Out, out)
			}
			if res.BuiltBy != "" {
				fmt.Fprintf(env.Err, "kept %s: the same artifact as built by %s (this run differs only in its run URL)\n", res.Digest, res.BuiltBy)
			}
			if res.Unchanged {
				fmt.Fprintf(env.Err, "unchanged: every tag already points at %s; nothing uploaded\n", res.Digest)
			} else {
				fmt.Fprintf(env.Err, "pushed %d files (%s compressed, %d blobs uploaded) with %s\n",
					len(layer.Files), humanSize(layer.Descriptor.Size), res.Uploaded, describeMeta(meta))
			}
			for _, t := range res.Tags {
				switch {
				case t.Kept != "":
					fmt.Fprintf(env.Err, "  %s: kept: %s (--allow-rollback moves it)\n", t.Tag, t.Kept)
				case !t.Changed:
					fmt.Fprintf(env.Err, "  %s: unchanged\n", t.Tag)
				case t.Previous == "":
					fmt.Fprintf(env.Err, "  %s: new\n", t.Tag)
				default:
					fmt.Fprintf(env.Err, "  %s: moved from %s\n", t.Tag, t.Previous)
				}
			}
			o.signing.report(env, sig)
			fmt.Fprintln(env.Out, res.Reference.String())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.path, "path", "", "directory to package (this or --render)")
	f.StringArrayVar(&o.render, "render", nil, "render this source first (as gitless render does) and package the result (repeatable)")
	f.StringArrayVarP(&o.tags, "tag", "t", nil, "further tag to point at the artifact (repeatable)")
	f.StringArrayVar(&o.movingTags, "moving-tag", artifact.DefaultMovingTags, "glob of tags that may move to a new digest (repeatable; --moving-tag= alone: no tag moves)")
	f.StringVar(&o.diffTag.tag, "diff-tag", "", "push only when the content differs from what this tag holds (a missing tag differs); otherwise push, tag and sign nothing and print that tag's digest")
	f.BoolVar(&o.allowOverwrite, "allow-overwrite", false, "let any existing tag move to the new digest")
	f.BoolVar(&o.allowRollback, "allow-rollback", false, "let a moving tag move to an artifact created before the one it names (without it the tag stays, with a warning)")
	f.StringVar(&o.prov.source, "source", "", "source repository URL (org.opencontainers.image.source)")
	f.StringVar(&o.prov.revision, "revision", "", "source revision, Flux's form: BRANCH@sha1:SHA (org.opencontainers.image.revision)")
	f.StringVar(&o.prov.created, "created", "", "creation time, RFC 3339 or Unix seconds (default: SOURCE_DATE_EPOCH, then the commit time)")
	f.StringArrayVarP(&o.prov.annotations, "annotation", "a", nil, "extra manifest annotation KEY=VALUE (repeatable)")
	o.build.AddFlags(f)
	o.rend.AddFlags(f)
	o.reg.AddFlags(f)
	o.out.AddFlags(f)
	o.signing.AddFlags(f)
	return cmd
}
