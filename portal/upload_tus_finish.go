package portal

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/seedbed/seedbed/ingest"
	"github.com/seedbed/seedbed/publish"
	"github.com/seedbed/seedbed/seedbox"
)

// commitTimeout bounds the commit of a finished upload, which goes on when
// the client hangs up.
const commitTimeout = 10 * time.Minute

// doneRecord is what a finished upload became. It is kept beside the upload
// as <id>.done (until swept) so that a client that lost the reply, after a
// dropped connection or a page reload, learns the result from HEAD or PATCH.
type doneRecord struct {
	InfoHash  string `json:"info_hash,omitempty"`
	Duplicate bool   `json:"duplicate"`
	Size      int64  `json:"size"`
	Status    int    `json:"status,omitempty"` // an error's HTTP status
	Error     string `json:"error,omitempty"`
}

// folderLocks serialize the finishing of uploads that share a folder (or,
// for single uploads, an ID) within this process.
type folderLocks struct{ mu [64]sync.Mutex }

func (f *folderLocks) lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &f.mu[h.Sum32()%uint32(len(f.mu))]
	m.Lock()
	return m.Unlock
}

// beforeFinishResponse runs in the request that delivered an upload's last
// byte, before tusd replies: the upload (or its whole folder) becomes a
// torrent now, and the reply names it.
func (t *tusUploads) beforeFinishResponse(ev handler.HookEvent) (handler.HTTPResponse, error) {
	tid, err := parseTusID(ev.Upload.ID)
	if err != nil {
		return handler.HTTPResponse{}, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ev.Context), commitTimeout)
	defer cancel()
	rec, remaining, err := t.finish(ctx, tid)
	if err != nil {
		return handler.HTTPResponse{}, err
	}
	return recordResponse(rec, remaining)
}

// recordResponse turns a result into reply headers, or a failed one into
// its error.
func recordResponse(rec *doneRecord, remaining int) (handler.HTTPResponse, error) {
	if rec == nil {
		return handler.HTTPResponse{Header: handler.HTTPHeader{headerFolderRemaining: strconv.Itoa(remaining)}}, nil
	}
	if rec.Error != "" {
		return handler.HTTPResponse{}, tusError(rec.Status, rec.Error)
	}
	return handler.HTTPResponse{Header: handler.HTTPHeader{
		headerInfoHash:  rec.InfoHash,
		headerDuplicate: strconv.FormatBool(rec.Duplicate),
	}}, nil
}

// finish commits a complete upload, or its folder once every file of it is
// complete. It returns the record, or nil and how many files the folder
// still waits for.
func (t *tusUploads) finish(ctx context.Context, tid tusID) (*doneRecord, int, error) {
	dir, err := t.store.dir(tid.Volume)
	if err != nil {
		return nil, 0, err
	}
	key := dir + "/" + tid.Folder
	if tid.Folder == "s" {
		key = dir + "/" + tid.String()
	}
	defer t.folders.lock(key)()
	if rec, err := readDone(dir, tid); err == nil {
		return rec, 0, nil
	}
	files, remaining, err := t.members(dir, tid)
	if err != nil || remaining > 0 {
		return nil, remaining, err
	}
	rec := t.commit(ctx, tid, files)
	for _, f := range files {
		if err := writeDone(dir, f.ID, rec); err != nil {
			return nil, 0, err
		}
		os.Remove(f.binPath)
		os.Remove(f.infoPath)
	}
	t.releaseFinished(ctx, files)
	return rec, 0, nil
}

// members returns the complete uploads that form tid's torrent, or how many
// files its folder still waits for.
func (t *tusUploads) members(dir string, tid tusID) ([]tusFile, int, error) {
	self, err := readTusFile(filepath.Join(dir, tid.String()+".info"))
	if err != nil {
		return nil, 0, fmt.Errorf("read upload %s: %w", tid, err)
	}
	if !self.complete {
		return nil, 0, fmt.Errorf("upload %s is not complete", tid)
	}
	if tid.Folder == "s" {
		return []tusFile{self}, 0, nil
	}
	want, _ := strconv.Atoi(self.MetaData[metaFolderFiles])
	paths, err := globSiblings(dir, tid)
	if err != nil {
		return nil, 0, err
	}
	var done []tusFile
	for _, p := range paths {
		f, err := readTusFile(p)
		if err != nil {
			continue // terminated meanwhile
		}
		if f.complete {
			done = append(done, f)
		}
	}
	if len(done) < want {
		return nil, want - len(done), nil
	}
	return done, 0, nil
}

func globSiblings(dir string, tid tusID) ([]string, error) {
	return filepath.Glob(filepath.Join(dir, tid.siblingsPattern()))
}

// commit turns complete uploads into one torrent exactly as the multipart
// route does (publish.Publisher: ingest, dedupe, move, register). The data
// files are moved into a staging folder on the same volume and hashed there
// in one read pass, in canonical order; see ingest.Upload.AdoptFile.
func (t *tusUploads) commit(ctx context.Context, tid tusID, files []tusFile) *doneRecord {
	total := int64(0)
	for _, f := range files {
		total += f.Size
	}
	fail := func(code int, msg string) *doneRecord {
		return &doneRecord{Size: total, Status: code, Error: msg}
	}
	v, ok := t.volume(tid.Volume)
	if !ok {
		return fail(http.StatusGone, "the volume of this upload is gone")
	}
	sortByPath(files)
	st, err := t.app.opts.Publisher.BeginOn(v, total)
	if err != nil {
		t.app.log.Error("stage finished upload", "id", tid, "err", err)
		return fail(http.StatusInternalServerError, "could not stage the upload")
	}
	for _, f := range files {
		if _, err := st.AdoptFile(f.MetaData[metaFilename], f.binPath); err != nil {
			st.Abort()
			if errors.Is(err, ingest.ErrBadName) {
				return fail(http.StatusBadRequest, err.Error())
			}
			t.app.log.Error("adopt finished upload", "id", f.ID, "err", err)
			return fail(http.StatusInternalServerError, "could not store the upload")
		}
	}
	out, err := t.app.opts.Publisher.Commit(ctx, st, metaOf(tid.User, files))
	switch {
	case errors.Is(err, ingest.ErrBadName) || errors.Is(err, ingest.ErrEmpty):
		return fail(http.StatusBadRequest, err.Error())
	case err != nil:
		t.app.log.Error("commit finished upload", "id", tid, "err", err)
		return fail(http.StatusInternalServerError, "could not store the upload")
	}
	if out.Torrent.State == "deleted" { // as the multipart route answers
		return fail(http.StatusGone, "this content was deleted from Seedbed and cannot be shared again")
	}
	return &doneRecord{InfoHash: out.Torrent.InfoHash, Duplicate: out.Duplicate, Size: total}
}

func (t *tusUploads) volume(id uint64) (seedbox.Volume, bool) {
	if t.app.opts.Volumes == nil {
		return seedbox.Volume{}, false
	}
	for _, v := range t.app.opts.Volumes.List() {
		if v.ID == id {
			return v, true
		}
	}
	return seedbox.Volume{}, false
}

// sortByPath puts files in torrent order (sorted "/"-joined sanitized paths),
// so the adopted bytes hash in the canonical order on the first pass.
func sortByPath(files []tusFile) {
	key := func(f tusFile) string {
		p, _ := ingest.SanitizePath(f.MetaData[metaFilename])
		return strings.Join(p, "/")
	}
	slices.SortFunc(files, func(a, b tusFile) int { return strings.Compare(key(a), key(b)) })
}

// metaOf takes the torrent's fields from the first file that has each.
func metaOf(user uint64, files []tusFile) publish.Meta {
	m := publish.Meta{UploaderID: user}
	for _, f := range files {
		md := f.MetaData
		m.Name = cmp.Or(m.Name, strings.TrimSpace(md[metaName]))
		m.Title = cmp.Or(m.Title, strings.TrimSpace(md[metaTitle]))
		m.Category = cmp.Or(m.Category, strings.TrimSpace(md[metaCategory]))
		m.Description = cmp.Or(m.Description, strings.TrimSpace(md[metaDescription]))
	}
	return m
}

func donePath(dir string, id string) string { return filepath.Join(dir, id+".done") }

func readDone(dir string, tid tusID) (*doneRecord, error) {
	b, err := os.ReadFile(donePath(dir, tid.String()))
	if err != nil {
		return nil, err
	}
	var rec doneRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// writeDone writes a record atomically (temp file and rename).
func writeDone(dir, id string, rec *doneRecord) error {
	b, _ := json.Marshal(rec)
	tmp := donePath(dir, id) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("record finished upload: %w", err)
	}
	if err := os.Rename(tmp, donePath(dir, id)); err != nil {
		return fmt.Errorf("record finished upload: %w", err)
	}
	return nil
}

// answerFinished answers requests about an upload that is already finished,
// from its record, and finishes a complete upload whose commit was cut short
// (a crash after its last byte). It reports whether it answered.
func (t *tusUploads) answerFinished(w http.ResponseWriter, r *http.Request, tid tusID) bool {
	if r.Method != http.MethodHead && r.Method != http.MethodPatch && r.Method != http.MethodDelete {
		return false
	}
	dir, err := t.store.dir(tid.Volume)
	if err != nil {
		return false
	}
	rec, err := readDone(dir, tid)
	if err != nil && r.Method != http.MethodDelete {
		rec = t.finishLeftover(r.Context(), dir, tid)
	}
	if rec == nil {
		return false
	}
	if r.Method == http.MethodDelete {
		os.Remove(donePath(dir, tid.String()))
		w.Header().Set("Tus-Resumable", "1.0.0")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	writeRecord(w, r, rec)
	return true
}

// finishLeftover commits an upload that is complete on disk but has no
// record, or returns nil when that is not the case.
func (t *tusUploads) finishLeftover(ctx context.Context, dir string, tid tusID) *doneRecord {
	f, err := readTusFile(filepath.Join(dir, tid.String()+".info"))
	if err != nil || !f.complete {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	rec, _, err := t.finish(ctx, tid)
	if err != nil {
		t.app.log.Warn("finish complete upload", "id", tid, "err", err)
	}
	return rec
}

// writeRecord replies to HEAD or PATCH for a finished upload the way tusd
// replies for a complete one, with the result headers.
func writeRecord(w http.ResponseWriter, r *http.Request, rec *doneRecord) {
	h := w.Header()
	h.Set("Tus-Resumable", "1.0.0")
	h.Set("Cache-Control", "no-store")
	if rec.Error != "" {
		if r.Method == http.MethodHead {
			w.WriteHeader(rec.Status)
			return
		}
		writeJSONError(w, rec.Status, rec.Error)
		return
	}
	size := strconv.FormatInt(rec.Size, 10)
	h.Set("Upload-Offset", size)
	h.Set(headerInfoHash, rec.InfoHash)
	h.Set(headerDuplicate, strconv.FormatBool(rec.Duplicate))
	if r.Method == http.MethodHead {
		h.Set("Upload-Length", size)
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
