package puller

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/gitless-dev/gitless/puller/apply"
)

// AnnotationRemoval records, on a parent written by a Run with an Owner, what removing
// the source needs when it leaves the configuration while no puller runs (removalRecord,
// JSON). A sync outside such a Run (the one-shot gitless-puller sync) clears it, and
// so does a source removed while pruneRemovedSources is off: its objects then stay
// for good.
const AnnotationRemoval = "gitless.dev/removal"

// removalRecord is AnnotationRemoval's value.
type removalRecord struct {
	// Owner names the installation whose Run applied the source (RunOptions.Owner):
	// another puller in the namespace, or the one-shot sync, never removes it.
	Owner string `json:"owner"`
	// ServiceAccount is the identity the source was applied as, resolved
	// ("NAMESPACE/NAME", "" for the puller's own): a removal impersonates exactly it.
	ServiceAccount         string `json:"serviceAccount,omitempty"`
	TargetNamespace        string `json:"targetNamespace,omitempty"`
	PruneNamespacesAndCRDs bool   `json:"pruneNamespacesAndCRDs,omitempty"`
	// ConfigTime is the time of a configuration file that had the source
	// (RunOptions.ConfigTime): only a puller whose file is newer removes it, so that a
	// replica taking over with a file the kubelet has not updated yet does not remove
	// what the leader's newer file added.
	ConfigTime time.Time `json:"configTime"`
	// MAC signs the record and its parent's name (RunOptions.RemovalKey), base64.
	MAC string `json:"mac,omitempty"`
}

// sameSource reports whether r and o record the same removal, whatever their times
// (and so their signatures), both signed or both not.
func (r removalRecord) sameSource(o removalRecord) bool {
	if (r.MAC == "") != (o.MAC == "") {
		return false
	}
	r.ConfigTime, o.ConfigTime, r.MAC, o.MAC = time.Time{}, time.Time{}, "", ""
	return r == o
}

// mac is the signature of r (its MAC left out) on the parent named parent.
func (r removalRecord) mac(key []byte, parent string) string {
	r.MAC = ""
	h := hmac.New(sha256.New, key)
	h.Write([]byte(parent + "\x00" + r.String()))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func (r removalRecord) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// stamp is what a Run records of a source's sync: its owner ("" records nothing, and
// clears a record) and the time of the configuration file it came from (zero: no file,
// which records nothing either).
type stamp struct {
	owner      string
	configTime time.Time
	key        []byte // signs the record (RunOptions.RemovalKey); nil: unsigned
}

// record returns the AnnotationRemoval value a sync of src as id writes under st.
func (st stamp) record(src Source, id Identity) string {
	if st.owner == "" || st.configTime.IsZero() {
		return "" // no file to compare a later one with (run --url): nothing to remove by
	}
	rec := removalRecord{Owner: st.owner, ServiceAccount: id.ServiceAccount, TargetNamespace: src.TargetNamespace,
		PruneNamespacesAndCRDs: src.PruneNamespacesAndCRDs, ConfigTime: st.configTime.UTC()}
	if st.key != nil {
		rec.MAC = rec.mac(st.key, parentPrefix+src.Name)
	}
	return rec.String()
}

// rewrite reports whether the parent named parent, holding the record old, must be
// written to hold want: the times alone differing does not count (a record's time is
// the time of some file that had the source, which an older one still is), but a
// record signed with another key than st's (one a process fell back to when the key's
// Secret could not be kept) is signed again, so that removal at start works once the
// key is there.
func (st stamp) rewrite(old, want, parent string) bool {
	if old == want {
		return false
	}
	if old == "" || want == "" {
		return true
	}
	var o, w removalRecord
	if json.Unmarshal([]byte(old), &o) != nil || json.Unmarshal([]byte(want), &w) != nil {
		return true
	}
	if !o.sameSource(w) {
		return true
	}
	return st.key != nil && o.MAC != "" && !hmac.Equal([]byte(o.MAC), []byte(o.mac(st.key, parent)))
}

// orphans lists, as Remove needs them (name, identity, pruning), the sources whose
// parents in the puller's namespace record owner (AnnotationRemoval) but that known
// does not have: taken out of the configuration while no puller of this installation
// ran. Nothing is listed when another puller of the installation has run a newer
// file than configTime with other content than configDigest (raiseConfigTime: this
// replica's file is not updated yet, and may lack a source that left and came back
// in a file it never saw). A parent whose
// record is as new as configTime or newer is left too, and so is one applied as the
// puller's own identity when the lockdown now names a default service account
// (removing as the puller would act with rights the lockdown takes away, removing as
// the account with rights it never had); each is logged.
func (p *Puller) orphans(ctx context.Context, owner string, key []byte, known map[string]bool, configTime time.Time, configDigest string) ([]Source, error) {
	newest, newestDigest, err := p.raiseConfigTime(ctx, owner, configTime, configDigest)
	if err != nil {
		return nil, err
	}
	if newest.After(configTime) && newestDigest != configDigest {
		p.log.WarnContext(ctx, "another puller of this installation has run a newer configuration file than this one (this replica's file may not be updated yet): no source taken out of the configuration is removed until it is",
			"configTime", configTime.UTC(), "newestConfigTime", newest, "configMap", installationName(owner))
		return nil, nil
	}
	l, err := p.kube.CoreV1().ConfigMaps(p.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: apply.LabelID})
	if err != nil {
		return nil, fmt.Errorf("listing the sources' ApplySet parents in %s: %w", p.opts.Namespace, err)
	}
	var out []Source
	for i := range l.Items {
		cm := &l.Items[i]
		name := strings.TrimPrefix(cm.Name, parentPrefix)
		raw := cm.Annotations[AnnotationRemoval]
		if !isPullerParent(cm) || known[name] || raw == "" || cm.Annotations[apply.AnnotationPrune] == "disabled" {
			continue
		}
		var rec removalRecord
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			p.log.WarnContext(ctx, "a source not in the configuration has a removal record that does not parse: its objects are left",
				"source", name, "parent", cm.Name, "annotation", AnnotationRemoval, "error", err)
			continue
		}
		switch {
		case rec.Owner != owner || rec.ConfigTime.IsZero():
			continue // another installation's; or no file's, which no file is newer than
		case key != nil && !hmac.Equal([]byte(rec.MAC), []byte(rec.mac(key, cm.Name))):
			p.log.WarnContext(ctx, "a source not in the configuration has a removal record this installation did not sign (written by an older puller, or by someone else): its objects are left",
				"source", name, "parent", cm.Name)
			continue
		case !rec.ConfigTime.Before(configTime):
			p.log.WarnContext(ctx, "a source not in the configuration was applied under a configuration file as new as this one or newer (this replica's file may not be updated yet): its objects are left",
				"source", name, "recordedConfigTime", rec.ConfigTime, "configTime", configTime.UTC())
			continue
		case rec.ServiceAccount == "" && p.opts.Tenancy.DefaultServiceAccount != "":
			p.log.WarnContext(ctx, "a source not in the configuration was applied as the puller itself, which the lockdown (defaultServiceAccount) now forbids: its objects are left",
				"source", name, "parent", cm.Name)
			continue
		}
		out = append(out, Source{Name: name, ServiceAccountName: rec.ServiceAccount, TargetNamespace: rec.TargetNamespace,
			PruneNamespacesAndCRDs: rec.PruneNamespacesAndCRDs}.WithDefaults())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// keep clears the removal record of a source taken out of the configuration whose
// objects stay (pruneRemovedSources off): no later start removes them.
func (p *Puller) keep(ctx context.Context, name string) error {
	a, err := p.applier("")
	if err != nil {
		return err
	}
	ps, err := a.ReadParent(ctx, p.Parent(name))
	if err != nil {
		return fmt.Errorf("source %s: %w", name, err)
	}
	if !ps.Exists || ps.Status[AnnotationRemoval] == "" {
		return nil
	}
	if err := a.WriteStatus(ctx, ps, map[string]string{AnnotationRemoval: ""}); err != nil {
		return fmt.Errorf("source %s: keeping its objects: %w", name, err)
	}
	return nil
}

// installationName is the ConfigMap, in the puller's namespace, that records the time
// and content digest of the newest configuration file a Run of the installation owner
// has taken (raiseConfigTime). Its name has a dot, which no parent's has.
func installationName(owner string) string { return owner + ".config-time" }

// The keys of installationName's data.
const (
	installationTimeKey   = "configTime"
	installationDigestKey = "configDigest"
)

// raiseConfigTime records t and dgst as the time and content digest of the newest
// configuration file a Run of owner has taken, unless a file as new or newer is
// recorded, and returns the newest. A write that races another replica's is done
// again (client-go's retry, on a conflict or a create that lost).
func (p *Puller) raiseConfigTime(ctx context.Context, owner string, t time.Time, dgst string) (time.Time, string, error) {
	cms := p.kube.CoreV1().ConfigMaps(p.opts.Namespace)
	name := installationName(owner)
	t = t.UTC()
	data := map[string]string{installationTimeKey: t.Format(time.RFC3339Nano), installationDigestKey: dgst}
	newest, newestDigest := t, dgst
	raced := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, raced, func() error {
		newest, newestDigest = t, dgst
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.opts.Namespace,
				Labels: map[string]string{apply.LabelManagedBy: apply.ToolName}}, Data: data}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		if recorded, perr := time.Parse(time.RFC3339Nano, cm.Data[installationTimeKey]); perr == nil && !recorded.Before(t) {
			newest, newestDigest = recorded, cm.Data[installationDigestKey]
			return nil
		}
		cm.Data = data
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return time.Time{}, "", fmt.Errorf("recording the time of the configuration file in %s/%s: %w", p.opts.Namespace, name, err)
	}
	return newest, newestDigest, nil
}
