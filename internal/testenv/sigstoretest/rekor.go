package sigstoretest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jsoncanonicalizer "github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // the entry kinds cosign and sigstore-go upload
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // (registered by import)
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// Log is a Rekor-like transparency log: one RFC 6962 Merkle tree in memory, entries
// canonicalized by Rekor's own type implementations.
type Log struct {
	// BaseURL is where it serves (set by Start).
	BaseURL string
	// Created is the start of the log key's validity in the trusted root.
	Created time.Time

	key    *ecdsa.PrivateKey
	signer signature.Signer
	logID  []byte

	mu      sync.Mutex
	tree    *testonly.Tree
	entries map[string]*models.LogEntryAnon // by UUID
	uploads int
}

// NewLog makes an empty log with a fresh key.
func NewLog() (*Log, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := signature.LoadECDSASigner(key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	id, err := logKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	return &Log{Created: time.Now().Add(-time.Hour), key: key, signer: signer, logID: id,
		tree: testonly.New(rfc6962.DefaultHasher), entries: map[string]*models.LogEntryAnon{}}, nil
}

// LogID is the hex log ID entries and trusted roots name the log by.
func (l *Log) LogID() string { return hex.EncodeToString(l.logID) }

// Uploads counts the entries added.
func (l *Log) Uploads() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.uploads
}

func (l *Log) transparencyLog() *root.TransparencyLog {
	return &root.TransparencyLog{
		BaseURL:             l.BaseURL,
		ID:                  l.logID,
		ValidityPeriodStart: l.Created,
		HashFunc:            crypto.SHA256,
		PublicKey:           l.key.Public(),
		SignatureHashFunc:   crypto.SHA256,
	}
}

// ServeHTTP implements Rekor's POST /api/v1/log/entries and GET /api/v1/log/entries/UUID.
func (l *Log) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/api/v1/log/entries"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == prefix:
		l.create(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, prefix+"/"):
		uuid := strings.TrimPrefix(r.URL.Path, prefix+"/")
		l.mu.Lock()
		e, ok := l.entries[uuid]
		l.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, errNoEntry.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]*models.LogEntryAnon{uuid: e})
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

func (l *Log) create(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		writeError(w, http.StatusBadRequest, "proposed entry: "+err.Error())
		return
	}
	ctx := r.Context()
	impl, err := types.UnmarshalEntry(pe)
	if err != nil {
		writeError(w, http.StatusBadRequest, "entry: "+err.Error())
		return
	}
	canonical, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		writeError(w, http.StatusBadRequest, "canonicalizing: "+err.Error())
		return
	}
	uuid, entry, err := l.append(ctx, canonical)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Location", l.BaseURL+"/api/v1/log/entries/"+uuid)
	w.Header().Set("ETag", uuid)
	writeJSON(w, http.StatusCreated, map[string]*models.LogEntryAnon{uuid: entry})
}

// append adds a canonical entry and returns it with its signed entry timestamp, inclusion
// proof and checkpoint.
func (l *Log) append(ctx context.Context, canonical []byte) (string, *models.LogEntryAnon, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tree.AppendData(canonical)
	index := l.tree.Size() - 1
	size := l.tree.Size()
	leaf := rfc6962.DefaultHasher.HashLeaf(canonical)
	uuid := hex.EncodeToString(leaf)
	b64body := base64.StdEncoding.EncodeToString(canonical)
	integrated := time.Now().Unix()
	logIndex := int64(index)
	logID := l.LogID()

	// The signed entry timestamp: the log's signature over the canonical JSON of
	// {body, integratedTime, logIndex, logID}.
	setPayload, err := json.Marshal(map[string]any{"body": b64body, "integratedTime": integrated, "logIndex": logIndex, "logID": logID})
	if err != nil {
		return "", nil, err
	}
	canonSET, err := jsoncanonicalizer.Transform(setPayload)
	if err != nil {
		return "", nil, err
	}
	digest := sha256.Sum256(canonSET)
	set, err := ecdsa.SignASN1(rand.Reader, l.key, digest[:])
	if err != nil {
		return "", nil, err
	}
	hashes, err := l.tree.InclusionProof(index, size)
	if err != nil {
		return "", nil, err
	}
	hexHashes := make([]string, len(hashes))
	for i, h := range hashes {
		hexHashes[i] = hex.EncodeToString(h)
	}
	rootHash := l.tree.Hash()
	cp, err := util.CreateAndSignCheckpoint(ctx, "rekor.gitless.test", 1, size, rootHash, l.signer)
	if err != nil {
		return "", nil, err
	}
	rootHex := hex.EncodeToString(rootHash)
	treeSize := int64(size)
	checkpoint := string(cp)
	entry := &models.LogEntryAnon{
		Body:           b64body,
		IntegratedTime: &integrated,
		LogID:          &logID,
		LogIndex:       &logIndex,
		Verification: &models.LogEntryAnonVerification{
			SignedEntryTimestamp: set,
			InclusionProof: &models.InclusionProof{
				Checkpoint: &checkpoint,
				Hashes:     hexHashes,
				LogIndex:   &logIndex,
				RootHash:   &rootHex,
				TreeSize:   &treeSize,
			},
		},
	}
	l.entries[uuid] = entry
	l.uploads++
	return uuid, entry, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"code": code, "message": msg})
}
