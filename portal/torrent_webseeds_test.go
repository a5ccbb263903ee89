package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedbed/seedbed/catalog"
)

// TestWebSeedsAndReplicasFollowLiveness: the url-list names this node first,
// then every other online node with a verified replica by node name; the
// API lists only replicas on online nodes; the page shows the others marked
// offline.
func TestWebSeedsAndReplicasFollowLiveness(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	code, obj, raw := h.upload(t, map[string]string{"notes.txt": strings.Repeat("x", 40000)}, nil)
	if code != 201 {
		t.Fatalf("upload: %d %s", code, raw)
	}
	tor, err := h.cat.TorrentByInfoHash(ctx, obj.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	// n3 and n2 (online) hold verified copies, n4 a copying one, n5 is offline.
	for _, n := range []string{"n3", "n2", "n4", "n5"} {
		v, err := h.cat.UpsertVolume(ctx, catalog.Volume{Name: "v1", Path: "/srv/" + n, Node: n})
		if err != nil {
			t.Fatal(err)
		}
		state := catalog.ReplicaVerified
		if n == "n4" {
			state = catalog.ReplicaCopying
		}
		if err := h.cat.SetReplicaState(ctx, tor.ID, v.ID, n, state); err != nil {
			t.Fatal(err)
		}
		if n != "n5" {
			if err := h.cat.Heartbeat(ctx, catalog.Node{Name: n, PublicURL: "http://" + n + ".campus"}); err != nil {
				t.Fatal(err)
			}
		}
	}

	_, b := h.do(t, "GET", "/torrents/"+obj.InfoHash+".torrent", h.token, nil, nil)
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	path := "/webseed/" + h.user.Passkey + "/" + obj.InfoHash + "/"
	want := []string{h.srv.URL + path, "http://n2.campus" + path, "http://n3.campus" + path}
	if strings.Join(mi.UrlList, " ") != strings.Join(want, " ") {
		t.Errorf("url-list %v, want %v", mi.UrlList, want)
	}

	_, b = h.do(t, "GET", "/api/v1/torrents/"+obj.InfoHash, h.token, nil, nil)
	var got TorrentObject
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var nodes []string
	for _, r := range got.Replicas {
		nodes = append(nodes, r.Node+":"+r.State)
	}
	if s := strings.Join(nodes, " "); s != "n1:verified n3:verified n2:verified n4:copying" {
		t.Errorf("API replicas %s, want those of online nodes only", s)
	}
	if !strings.Contains(got.Magnet, "n2.campus") {
		t.Errorf("magnet lacks the other nodes' web seeds: %s", got.Magnet)
	}

	_, page := h.do(t, "GET", "/t/"+obj.InfoHash, h.token, nil, nil)
	if !strings.Contains(string(page), "n5/v1: verified (node offline)") || strings.Contains(string(page), "n2/v1: verified (node offline)") {
		t.Errorf("page does not mark only n5 offline")
	}
}
