package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/go-openapi/strfmt"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"

	"github.com/gitless-dev/gitless/internal/sigstore"
)

// rekorUpload records an entry in the Rekor transparency log at url and returns the
// entry with its proof.
func (c *Client) rekorUpload(ctx context.Context, url string, pe models.ProposedEntry) (*models.LogEntryAnon, error) {
	if url == "" {
		url = DefaultRekorURL
	}
	rc, err := rekorclient.GetRekorClient(url, rekorclient.WithUserAgent(c.opts.UserAgent), rekorclient.WithRetryCount(1))
	if err != nil {
		return nil, fmt.Errorf("%w: Rekor at %s: %w", ErrSigning, url, err)
	}
	resp, err := rc.Entries.CreateLogEntry(entries.NewCreateLogEntryParamsWithContext(ctx).WithProposedEntry(pe))
	if err != nil {
		var conflict *entries.CreateLogEntryConflict
		if errors.As(err, &conflict) {
			return nil, fmt.Errorf("%w: Rekor at %s already has this entry", ErrSigning, url)
		}
		return nil, fmt.Errorf("%w: recording the signature in Rekor at %s: %w", ErrSigning, url, err)
	}
	for _, e := range resp.Payload {
		return &e, nil
	}
	return nil, fmt.Errorf("%w: Rekor at %s answered no entry", ErrSigning, url)
}

// hashedRekord is the Rekor entry of a signature over msg: its SHA-256, the signature and
// the key or certificate (PEM) that verifies it.
func hashedRekord(sig, msg, pemBytes []byte) models.ProposedEntry {
	sum := sha256.Sum256(msg)
	return &models.Hashedrekord{
		APIVersion: ptr("0.0.1"),
		Spec: models.HashedrekordV001Schema{
			Data: &models.HashedrekordV001SchemaData{Hash: &models.HashedrekordV001SchemaDataHash{
				Algorithm: ptr(models.HashedrekordV001SchemaDataHashAlgorithmSha256),
				Value:     ptr(hex.EncodeToString(sum[:])),
			}},
			Signature: &models.HashedrekordV001SchemaSignature{
				Content:   strfmt.Base64(sig),
				PublicKey: &models.HashedrekordV001SchemaSignaturePublicKey{Content: strfmt.Base64(pemBytes)},
			},
		},
	}
}

// dsseEntry is the Rekor entry of a DSSE envelope and the key or certificate that
// verifies it.
func dsseEntry(envelopeJSON, pemBytes []byte) models.ProposedEntry {
	env := string(envelopeJSON)
	return &models.DSSE{
		APIVersion: ptr("0.0.1"),
		Spec: models.DSSEV001Schema{
			ProposedContent: &models.DSSEV001SchemaProposedContent{
				Envelope:  &env,
				Verifiers: []strfmt.Base64{strfmt.Base64(pemBytes)},
			},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// bundleFromEntry turns Rekor's answer into cosign's bundle annotation.
func bundleFromEntry(e *models.LogEntryAnon) (*sigstore.RekorBundle, error) {
	body, ok := e.Body.(string)
	if !ok || e.IntegratedTime == nil || e.LogIndex == nil || e.LogID == nil || e.Verification == nil || len(e.Verification.SignedEntryTimestamp) == 0 {
		return nil, fmt.Errorf("%w: Rekor answered an entry without its body, time, index, log ID or signed entry timestamp", ErrSigning)
	}
	return &sigstore.RekorBundle{
		SignedEntryTimestamp: e.Verification.SignedEntryTimestamp,
		Payload:              sigstore.RekorPayload{Body: body, IntegratedTime: *e.IntegratedTime, LogIndex: *e.LogIndex, LogID: *e.LogID},
	}, nil
}
