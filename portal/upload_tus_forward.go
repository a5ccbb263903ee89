package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/seedbed/seedbed/catalog"
)

// Resumable uploads behind a round-robin proxy. An upload's bytes live on
// one volume of the node that created it, and its ID names that volume
// (tusID.Volume); the catalog knows which node each volume belongs to and,
// from the node's heartbeat, its public URL and whether it is online. A node
// that receives HEAD, PATCH or DELETE for an upload on another node forwards
// the request, streaming, to that node's public URL; so does a creation that
// must join an upload elsewhere (a retried keyed creation, another file of a
// folder whose files are reserved on another node).
//
// The forwarded request keeps the client's credentials (Authorization,
// session and CSRF cookies, X-CSRF-Token) and the owner authenticates it
// again exactly as it would a client's: nodes trust no header from one
// another, so no secret is shared between them. The forwarding node checks
// the user first, so it forwards only a signed-in user's requests on that
// user's own uploads. headerForwardedBy only stops forwarding loops (a
// forwarded request is never forwarded again); a client that sends it merely
// gets its request answered locally.

// headerRestart on a 410 reply tells the client the upload is lost (its
// node is down) and a new upload of the same file will be taken.
const headerRestart = "Seedbed-Upload-Restart"

// headerForwardedBy marks a request one node forwarded to another; its
// value is the forwarding node's name (for logs).
const headerForwardedBy = "Seedbed-Forwarded-By"

// errOwnerOffline means the node holding an upload is not online.
var errOwnerOffline = errors.New("the node holding this upload is offline")

// isLocalVolume tells whether a volume is one of this node's.
func (t *tusUploads) isLocalVolume(id uint64) bool {
	_, err := t.store.dir(id)
	return err == nil
}

// routeUpload forwards a request on upload tid to the node holding it, or
// answers for that node when it is down; it reports whether it answered.
// A request on a local upload is left to tusd.
func (t *tusUploads) routeUpload(w http.ResponseWriter, r *http.Request, tid tusID) bool {
	if t.isLocalVolume(tid.Volume) || t.app.opts.Catalog == nil {
		return false
	}
	if r.Header.Get(headerForwardedBy) != "" {
		writeJSONError(w, http.StatusNotFound, "no such upload on this node")
		return true
	}
	owner, err := t.app.opts.Catalog.VolumeOwner(r.Context(), tid.Volume)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return false // tusd answers 404
	case err != nil:
		t.app.log.Error("find the node of an upload", "id", tid, "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, "could not find the node holding this upload: retry")
		return true
	case owner.Name == t.app.opts.Node:
		return false // a volume of this node that is gone: tusd answers 404
	case !owner.Online || owner.PublicURL == "":
		t.ownerDown(w, r, tid, owner)
		return true
	}
	t.forward(w, r, owner)
	return true
}

// ownerDown answers a request on an upload whose node is offline. The
// upload cannot go on, so its reservation is released and the client is
// told to start over: 410 Gone, which tus clients answer by creating a new
// upload (a DELETE succeeds: there is nothing left to do here).
func (t *tusUploads) ownerDown(w http.ResponseWriter, r *http.Request, tid tusID, owner catalog.Node) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), commitTimeout)
	defer cancel()
	err := t.app.opts.Catalog.ReleaseUploads(ctx, tid.String())
	if tid.Folder != "s" && err == nil { // the folder starts over as a whole
		err = t.app.opts.Catalog.ReleaseUploadFolder(ctx, tid.User, tid.Folder)
	}
	if err != nil {
		t.app.log.Warn("release the upload of an offline node", "id", tid, "err", err)
	}
	if r.Method == http.MethodDelete {
		w.Header().Set("Tus-Resumable", "1.0.0")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set(headerRestart, "true")
	msg := fmt.Sprintf("%s (%s): start the upload over", errOwnerOffline, owner.Name)
	if owner.Online {
		msg = fmt.Sprintf("the node holding this upload (%s) has no public URL: start the upload over", owner.Name)
	}
	writeJSONError(w, http.StatusGone, msg)
}

// routeCreation forwards a creation to the node that must make it: the one
// holding the upload a keyed creation's first try made, or the other files
// of the folder the new upload belongs to. It reports whether it answered.
func (t *tusUploads) routeCreation(w http.ResponseWriter, r *http.Request, u *catalog.User, rnd string) bool {
	cat := t.app.opts.Catalog
	if r.Method != http.MethodPost || cat == nil || r.Header.Get(headerForwardedBy) != "" {
		return false
	}
	ctx := r.Context()
	var res *catalog.UploadReservation
	if rnd != "" {
		res, _ = cat.UploadReservationByKey(ctx, u.ID, rnd)
	}
	if folder := handler.ParseMetadataHeader(r.Header.Get("Upload-Metadata"))[metaFolder]; res == nil && folder != "" {
		res, _ = cat.UploadFolderReservation(ctx, u.ID, newTusID(0, u.ID, folder).Folder)
	}
	if res == nil || res.VolumeID == 0 || t.isLocalVolume(res.VolumeID) {
		return false
	}
	owner, err := cat.VolumeOwner(ctx, res.VolumeID)
	if err != nil && !errors.Is(err, catalog.ErrNotFound) {
		t.app.log.Error("find the node of an upload", "id", res.UploadID, "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, "could not find the node holding this upload: retry")
		return true
	}
	if err == nil && owner.Online && owner.PublicURL != "" && owner.Name != t.app.opts.Node {
		t.forward(w, r, owner)
		return true
	}
	if res.Folder != "" {
		if err := cat.ReleaseUploadFolder(ctx, u.ID, res.Folder); err != nil {
			t.app.log.Warn("release the folder of an offline node", "folder", res.Folder, "err", err)
		}
		w.Header().Set(headerRestart, "true")
		writeJSONError(w, http.StatusGone, fmt.Sprintf(
			"the node holding the other files of this folder (%s) is offline: start the folder over", owner.Name))
		return true
	}
	// A keyed creation whose first upload is on a node that is down: make
	// a new one here.
	if err := cat.ReleaseUploads(ctx, res.UploadID); err != nil {
		t.app.log.Warn("release the upload of an offline node", "id", res.UploadID, "err", err)
	}
	return false
}

// forward proxies r, streaming both ways, to owner's portal. The request's
// path is the tus endpoint's (r arrives with the endpoint prefix stripped);
// a Location in the reply is rewritten to the host the client used.
func (t *tusUploads) forward(w http.ResponseWriter, r *http.Request, owner catalog.Node) {
	target, err := url.Parse(owner.PublicURL)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		t.app.log.Error("forward an upload request", "node", owner.Name, "public_url", owner.PublicURL, "err", err)
		writeJSONError(w, http.StatusBadGateway, "the node holding this upload has a bad public URL")
		return
	}
	clientBase := requestScheme(r) + "://" + r.Host
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = forwardPath(target.Path, pr.In.URL.Path)
			pr.Out.URL.RawPath = ""
			pr.SetXForwarded()
			pr.Out.Header.Set(headerForwardedBy, t.app.opts.Node)
		},
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if loc := resp.Header.Get("Location"); loc != "" {
				resp.Header.Set("Location", rebaseLocation(loc, clientBase))
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client hung up
			}
			t.app.log.Warn("forward an upload request", "node", owner.Name, "method", r.Method, "err", err)
			w.Header().Set("Retry-After", "2")
			writeJSONError(w, http.StatusServiceUnavailable,
				fmt.Sprintf("the node holding this upload (%s) did not answer: retry", owner.Name))
		},
	}
	p.ServeHTTP(w, r)
}

// forwardPath is the path on the owner of a request whose path below the
// tus endpoint is sub ("", "/" or "/<id>"), under the owner's base path.
func forwardPath(base, sub string) string {
	p := strings.TrimSuffix(tusBasePath, "/") + sub
	if base = strings.TrimSuffix(base, "/"); base != "" {
		p = base + p
	}
	return p
}

// rebaseLocation points a Location the owner answered (its own public URL
// and an upload's path) at clientBase, the scheme and host the client
// used; anything else is returned unchanged.
func rebaseLocation(loc, clientBase string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	i := strings.Index(u.Path, tusBasePath)
	if i < 0 {
		return loc
	}
	id := u.Path[i+len(tusBasePath):]
	if _, err := parseTusID(id); err != nil {
		return loc
	}
	return clientBase + path.Join(tusBasePath, id)
}

// requestScheme is the scheme of the request as this node received it.
func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
